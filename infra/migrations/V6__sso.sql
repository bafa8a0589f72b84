-- Single sign-on: OpenID Connect issuers configured per tenant (Google, Microsoft, Okta... are rows,
-- not code), and the pending authorization-code logins (state, nonce, PKCE verifier).

CREATE TABLE sso_providers (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    name                text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    issuer              text NOT NULL CHECK (issuer ~ '^https?://'),
    client_id           text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 300),
    client_secret_sealed bytea,                -- AES-256-GCM with the data key, for confidential clients
    scopes              text NOT NULL DEFAULT 'openid email profile',
    allow_provisioning  boolean NOT NULL DEFAULT false,
    default_role        text REFERENCES roles (code),
    enabled             boolean NOT NULL DEFAULT true,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
SELECT app_protect_tenant_table('sso_providers');
GRANT SELECT, INSERT, UPDATE ON sso_providers TO gateway_app, gateway_ops;

CREATE TABLE sso_logins (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    provider       text NOT NULL,
    state_hash     bytea NOT NULL UNIQUE CHECK (length(state_hash) = 32),
    nonce          text NOT NULL,
    pkce_verifier  text NOT NULL,
    redirect_uri   text NOT NULL,
    binding_hash   bytea NOT NULL CHECK (length(binding_hash) = 32),  -- the browser's cookie, hashed
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    completed_at   timestamptz
);
SELECT app_protect_tenant_table('sso_logins');
GRANT SELECT, INSERT, UPDATE ON sso_logins TO gateway_app, gateway_ops;

-- SSO starts from a tenant slug, before any tenant is known: the one lookup for it.
CREATE POLICY identity_read ON tenants FOR SELECT TO gateway_identity USING (true);
GRANT SELECT ON tenants TO gateway_identity;
CREATE FUNCTION identity_tenant_by_slug(p_slug text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id FROM tenants WHERE slug = p_slug AND status = 'active' $$;
ALTER FUNCTION identity_tenant_by_slug(text) OWNER TO gateway_identity;
REVOKE ALL ON FUNCTION identity_tenant_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION identity_tenant_by_slug(text) TO gateway_app;

-- How a session began: password (with or without a second factor) or single sign-on. A session from
-- single sign-on cannot switch into another tenant (that tenant's admins did not vouch for it), and
-- a switch into a tenant that requires a second factor needs one unless the session already passed.
ALTER TABLE sessions ADD COLUMN auth_method text NOT NULL DEFAULT 'password'
    CHECK (auth_method IN ('password', 'sso'));
ALTER TABLE sessions ADD COLUMN mfa_verified boolean NOT NULL DEFAULT false;
