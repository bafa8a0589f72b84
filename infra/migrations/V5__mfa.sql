-- Second factors. They belong to a user (across tenants), so like users they are visible only to
-- the user's own transaction (app.user_id).
--   mfa_factors: a TOTP secret (AES-256-GCM encrypted at rest), confirmed by a first valid code;
--                last_step is the newest TOTP step accepted, so a code is never accepted twice.
--   mfa_recovery_codes: SHA-256 of single-use recovery codes, shown once at confirmation.
--   mfa_challenges: a password-verified login waiting for its second factor (token hashed; an
--                   emailed one-time code hashed; attempts counted).

CREATE TABLE mfa_factors (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id),
    kind              text NOT NULL CHECK (kind IN ('totp')),
    secret_encrypted  bytea NOT NULL,
    created_at        timestamptz NOT NULL,
    confirmed_at      timestamptz,
    last_step         bigint,
    disabled_at       timestamptz
);
CREATE UNIQUE INDEX mfa_factors_one_live ON mfa_factors (user_id) WHERE disabled_at IS NULL AND confirmed_at IS NOT NULL;

CREATE TABLE mfa_recovery_codes (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    code_hash  bytea NOT NULL CHECK (length(code_hash) = 32),
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id) WHERE used_at IS NULL;

CREATE TABLE mfa_challenges (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id),
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    token_hash         bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    email_code_hash    bytea,
    email_code_expires_at timestamptz,
    attempts           integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    completed_at       timestamptz
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['mfa_factors', 'mfa_recovery_codes', 'mfa_challenges'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY self ON %I TO gateway_app USING (user_id = app_current_user()) '
                       'WITH CHECK (user_id = app_current_user())', t);
        EXECUTE format('CREATE POLICY ops_all ON %I TO gateway_ops USING (true) WITH CHECK (true)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO gateway_app, gateway_ops', t);
    END LOOP;
END
$$;
