-- API keys: machine credentials of one tenant, with permissions no wider than their creator's.
-- Only the SHA-256 of the secret is stored; `display_prefix` identifies a key in lists. A rotation
-- creates the successor and gives the old key a grace period (`grace_until`) during which both work.

CREATE TABLE api_keys (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    display_prefix  text NOT NULL,
    secret_hash     bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    permissions     text[] NOT NULL CHECK (cardinality(permissions) > 0),
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz,
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    grace_until     timestamptz,            -- set on the old key by a rotation
    replaced_by     uuid REFERENCES api_keys (id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES tenant_users (tenant_id, user_id)
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id DESC);
SELECT app_protect_tenant_table('api_keys');
GRANT SELECT, INSERT, UPDATE ON api_keys TO gateway_app, gateway_ops;

-- An API key acting is an actor of its own.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_kind_check
    CHECK (actor_kind IN ('user', 'api_key', 'system', 'anonymous'));
ALTER TABLE audit_log ADD COLUMN actor_key_id uuid;
