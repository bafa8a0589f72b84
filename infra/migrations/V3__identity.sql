-- Identity: users and their tenant memberships, the 18 roles and per-tenant role grants, sessions,
-- refresh tokens (rotation families), invitations, password resets, login attempts, and the audit
-- log. Every tenant-scoped table goes through app_protect_tenant_table(); the global ones (users,
-- password resets, login attempts) are protected by their own policies below.

-- The user of the current transaction, set by the service with set_config('app.user_id', .., true)
-- next to app.tenant_id. NULL when unset.
CREATE FUNCTION app_current_user() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;

-- Owner of the two SECURITY DEFINER functions below: the only ways to reach users before a tenant
-- is known (login by email, invitation of an email). Cannot log in; sees only what its policies allow.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gateway_identity') THEN
        CREATE ROLE gateway_identity NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO gateway_identity;

-- ------------------------------------------------------------------ roles and permissions
-- The matrix lives in code (shared/src/tenancy/roles.rs); these rows mirror it so grants can
-- reference a real role and reports can join on it. A test holds both equal.
CREATE TABLE roles (
    code         text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z_]*$'),
    description  text NOT NULL,
    read_only    boolean NOT NULL
);

CREATE TABLE role_permissions (
    role_code   text NOT NULL REFERENCES roles (code) ON DELETE CASCADE,
    permission  text NOT NULL CHECK (permission ~ '^([a-z_]+|\*):([a-z_]+|\*)(:(own|tenant|all))?$'),
    PRIMARY KEY (role_code, permission)
);
GRANT SELECT ON roles, role_permissions TO gateway_app, gateway_ops;

INSERT INTO roles (code, description, read_only) VALUES
    ('SUPER_ADMIN', 'Everything, everywhere; break-glass platform owner.', false),
    ('PLATFORM_ADMIN', 'Runs the platform: tenants, users, catalog approval, settings, for any tenant.', false),
    ('OPERATIONS_ADMIN', 'Order flow across tenants: orders, stock, warehouses, fulfilment, returns.', false),
    ('FINANCE_ADMIN', 'Money across tenants: payments, refunds, commissions, payouts, NACHA files.', false),
    ('FINANCE', 'Read-only financial view across tenants.', true),
    ('AUDITOR', 'Read-only, system-wide, including the audit log.', true),
    ('TENANT_ADMIN', 'Runs one tenant: its users, catalog, pricing, orders, keys, webhooks, settings.', false),
    ('TENANT_USER', 'Day-to-day staff of a tenant: places and follows orders.', false),
    ('WAREHOUSE_STAFF', 'Picks, packs and ships for a tenant''s warehouses.', false),
    ('SALES_REP', 'Sells for a tenant; sees own orders and own commissions.', false),
    ('SUPPORT', 'Read-only help desk across tenants: orders, shipments, users.', true),
    ('VENDOR_ADMIN', 'Runs a marketplace vendor: its products (pending approval), orders, payouts, users.', false),
    ('VENDOR_USER', 'Vendor staff: keeps products and fulfils the vendor''s orders.', false),
    ('TENANT_FINANCE', 'Read-only money view of one tenant: invoices, commissions, payouts.', true),
    ('THREE_PL_PARTNER', 'A third-party logistics partner: the orders routed to it, labels, tracking.', false),
    ('INTEGRATION_CLIENT', 'A machine client (API key) of one tenant: submits and follows orders.', false),
    ('COMPLIANCE_OFFICER', 'A tenant''s data protection: audit trail, GDPR export and erasure.', false),
    ('CATALOG_MANAGER', 'Keeps a tenant''s catalog, SKU mappings, prices and promotions.', false);

INSERT INTO role_permissions (role_code, permission) VALUES
    ('SUPER_ADMIN', '*:*:all'),
    ('PLATFORM_ADMIN', 'tenants:*:all'),
    ('PLATFORM_ADMIN', 'users:*:all'),
    ('PLATFORM_ADMIN', 'roles:read:all'),
    ('PLATFORM_ADMIN', 'catalog:*:all'),
    ('PLATFORM_ADMIN', 'vendors:*:all'),
    ('PLATFORM_ADMIN', 'settings:*:all'),
    ('PLATFORM_ADMIN', 'api_keys:*:all'),
    ('PLATFORM_ADMIN', 'webhooks:*:all'),
    ('PLATFORM_ADMIN', 'orders:read:all'),
    ('PLATFORM_ADMIN', 'audit:read:all'),
    ('OPERATIONS_ADMIN', 'orders:*:all'),
    ('OPERATIONS_ADMIN', 'inventory:*:all'),
    ('OPERATIONS_ADMIN', 'warehouses:*:all'),
    ('OPERATIONS_ADMIN', 'fulfillment:*:all'),
    ('OPERATIONS_ADMIN', 'returns:*:all'),
    ('OPERATIONS_ADMIN', 'tenants:read:all'),
    ('OPERATIONS_ADMIN', 'catalog:read:all'),
    ('OPERATIONS_ADMIN', 'exceptions:*:all'),
    ('FINANCE_ADMIN', 'payments:*:all'),
    ('FINANCE_ADMIN', 'refunds:*:all'),
    ('FINANCE_ADMIN', 'commissions:*:all'),
    ('FINANCE_ADMIN', 'payouts:*:all'),
    ('FINANCE_ADMIN', 'finance:*:all'),
    ('FINANCE_ADMIN', 'orders:read:all'),
    ('FINANCE_ADMIN', 'tenants:read:all'),
    ('FINANCE', 'payments:read:all'),
    ('FINANCE', 'refunds:read:all'),
    ('FINANCE', 'commissions:read:all'),
    ('FINANCE', 'payouts:read:all'),
    ('FINANCE', 'finance:read:all'),
    ('FINANCE', 'orders:read:all'),
    ('AUDITOR', '*:read:all'),
    ('TENANT_ADMIN', 'users:*'),
    ('TENANT_ADMIN', 'roles:read'),
    ('TENANT_ADMIN', 'catalog:*'),
    ('TENANT_ADMIN', 'sku_mappings:*'),
    ('TENANT_ADMIN', 'pricing:*'),
    ('TENANT_ADMIN', 'promotions:*'),
    ('TENANT_ADMIN', 'orders:*'),
    ('TENANT_ADMIN', 'returns:*'),
    ('TENANT_ADMIN', 'inventory:*'),
    ('TENANT_ADMIN', 'fulfillment:*'),
    ('TENANT_ADMIN', 'warehouses:read'),
    ('TENANT_ADMIN', 'payments:read'),
    ('TENANT_ADMIN', 'refunds:read'),
    ('TENANT_ADMIN', 'gdpr:*'),
    ('TENANT_ADMIN', 'api_keys:*'),
    ('TENANT_ADMIN', 'webhooks:*'),
    ('TENANT_ADMIN', 'settings:*'),
    ('TENANT_ADMIN', 'channels:*'),
    ('TENANT_ADMIN', 'audit:read'),
    ('TENANT_ADMIN', 'finance:read'),
    ('TENANT_ADMIN', 'commissions:read'),
    ('TENANT_ADMIN', 'payouts:read'),
    ('TENANT_USER', 'orders:create'),
    ('TENANT_USER', 'orders:read'),
    ('TENANT_USER', 'orders:update:own'),
    ('TENANT_USER', 'catalog:read'),
    ('TENANT_USER', 'pricing:read'),
    ('TENANT_USER', 'inventory:read'),
    ('TENANT_USER', 'users:read:own'),
    ('WAREHOUSE_STAFF', 'orders:read'),
    ('WAREHOUSE_STAFF', 'inventory:read'),
    ('WAREHOUSE_STAFF', 'inventory:update'),
    ('WAREHOUSE_STAFF', 'fulfillment:*'),
    ('WAREHOUSE_STAFF', 'returns:update'),
    ('WAREHOUSE_STAFF', 'warehouses:read'),
    ('SALES_REP', 'orders:create:own'),
    ('SALES_REP', 'orders:read:own'),
    ('SALES_REP', 'orders:update:own'),
    ('SALES_REP', 'catalog:read'),
    ('SALES_REP', 'pricing:read'),
    ('SALES_REP', 'commissions:read:own'),
    ('SUPPORT', 'orders:read:all'),
    ('SUPPORT', 'fulfillment:read:all'),
    ('SUPPORT', 'returns:read:all'),
    ('SUPPORT', 'users:read:all'),
    ('SUPPORT', 'tenants:read:all'),
    ('SUPPORT', 'catalog:read:all'),
    ('VENDOR_ADMIN', 'catalog:create:own'),
    ('VENDOR_ADMIN', 'catalog:update:own'),
    ('VENDOR_ADMIN', 'catalog:read'),
    ('VENDOR_ADMIN', 'orders:read:own'),
    ('VENDOR_ADMIN', 'fulfillment:*:own'),
    ('VENDOR_ADMIN', 'payouts:read:own'),
    ('VENDOR_ADMIN', 'users:*'),
    ('VENDOR_USER', 'catalog:read'),
    ('VENDOR_USER', 'catalog:update:own'),
    ('VENDOR_USER', 'orders:read:own'),
    ('VENDOR_USER', 'fulfillment:update:own'),
    ('TENANT_FINANCE', 'finance:read'),
    ('TENANT_FINANCE', 'payments:read'),
    ('TENANT_FINANCE', 'refunds:read'),
    ('TENANT_FINANCE', 'commissions:read'),
    ('TENANT_FINANCE', 'payouts:read'),
    ('TENANT_FINANCE', 'orders:read'),
    ('THREE_PL_PARTNER', 'fulfillment:read:own'),
    ('THREE_PL_PARTNER', 'fulfillment:update:own'),
    ('THREE_PL_PARTNER', 'orders:read:own'),
    ('THREE_PL_PARTNER', 'inventory:read:own'),
    ('THREE_PL_PARTNER', 'inventory:update:own'),
    ('INTEGRATION_CLIENT', 'orders:create'),
    ('INTEGRATION_CLIENT', 'orders:read'),
    ('INTEGRATION_CLIENT', 'catalog:read'),
    ('INTEGRATION_CLIENT', 'pricing:read'),
    ('INTEGRATION_CLIENT', 'inventory:read'),
    ('COMPLIANCE_OFFICER', 'audit:read'),
    ('COMPLIANCE_OFFICER', 'users:read'),
    ('COMPLIANCE_OFFICER', 'gdpr:export'),
    ('COMPLIANCE_OFFICER', 'gdpr:erase'),
    ('CATALOG_MANAGER', 'catalog:*'),
    ('CATALOG_MANAGER', 'sku_mappings:*'),
    ('CATALOG_MANAGER', 'pricing:*'),
    ('CATALOG_MANAGER', 'promotions:*'),
    ('CATALOG_MANAGER', 'orders:read');

-- ------------------------------------------------------------------ users and memberships
-- A person, across tenants. Email is the login name, stored lower-case.
CREATE TABLE users (
    id                   uuid PRIMARY KEY,
    email                text NOT NULL UNIQUE
                         CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254 AND email LIKE '_%@_%'),
    display_name         text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
    password_hash        text,                 -- NULL until the invitee sets one
    -- What the application role may know about the hash (it cannot read the hash itself).
    has_password         boolean GENERATED ALWAYS AS (password_hash IS NOT NULL) STORED,
    password_changed_at  timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);

-- Which tenants a user belongs to, and whether the membership is live.
CREATE TABLE tenant_users (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    user_id         uuid NOT NULL REFERENCES users (id),
    status          text NOT NULL CHECK (status IN ('invited', 'active', 'deactivated')),
    -- How this tenant names the user (its admins edit this, never the user's global profile).
    display_name    text CHECK (length(display_name) <= 200),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deactivated_at  timestamptz,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_users_user ON tenant_users (user_id);
SELECT app_protect_tenant_table('tenant_users');
-- A user sees their own memberships in every tenant (tenant switching, /auth/me).
CREATE POLICY self_read ON tenant_users FOR SELECT TO gateway_app USING (user_id = app_current_user());
GRANT SELECT, INSERT, UPDATE ON tenant_users TO gateway_app, gateway_ops;

-- A user row is readable by a tenant that has them as a member, and readable and writable only by
-- the user themself (their own transaction: password set or reset, their own name). A tenant never
-- writes a user row, since the row is shared by every tenant the user belongs to. The application
-- role cannot read the password hash or change the email at all.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY member_of_tenant ON users FOR SELECT TO gateway_app
    USING (EXISTS (SELECT 1 FROM tenant_users m WHERE m.user_id = users.id AND m.tenant_id = app_current_tenant()));
CREATE POLICY self ON users TO gateway_app USING (id = app_current_user()) WITH CHECK (id = app_current_user());
CREATE POLICY ops_all ON users TO gateway_ops USING (true) WITH CHECK (true);
CREATE POLICY identity_all ON users TO gateway_identity USING (true) WITH CHECK (true);
GRANT SELECT (id, email, display_name, has_password, password_changed_at, created_at, updated_at) ON users TO gateway_app;
GRANT UPDATE (display_name, password_hash, password_changed_at, updated_at) ON users TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON users TO gateway_ops, gateway_identity;

-- A user sees the tenants they belong to (names for tenant switching), besides the acting one.
CREATE POLICY member_read ON tenants FOR SELECT TO gateway_app
    USING (EXISTS (SELECT 1 FROM tenant_users m WHERE m.tenant_id = tenants.id AND m.user_id = app_current_user()));

CREATE TABLE role_grants (
    tenant_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    role_code   text NOT NULL REFERENCES roles (code),
    granted_by  uuid,
    granted_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role_code),
    FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_users (tenant_id, user_id) ON DELETE CASCADE
);
SELECT app_protect_tenant_table('role_grants');
CREATE POLICY self_read ON role_grants FOR SELECT TO gateway_app USING (user_id = app_current_user());
GRANT SELECT, INSERT, DELETE ON role_grants TO gateway_app, gateway_ops;

-- ------------------------------------------------------------------ sessions and refresh tokens
-- One login (or tenant switch) on one device. Access tokens name it; every request checks it, so
-- revoking it, idling past its timeout, or suspending the tenant stops its tokens at once.
CREATE TABLE sessions (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL,
    user_id               uuid NOT NULL,
    device_fingerprint    text CHECK (length(device_fingerprint) <= 200),
    ip                    text CHECK (length(ip) <= 64),
    user_agent            text CHECK (length(user_agent) <= 512),
    idle_timeout_seconds  integer NOT NULL CHECK (idle_timeout_seconds > 0),
    created_at            timestamptz NOT NULL,
    last_activity_at      timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    revoked_at            timestamptz,
    revoked_reason        text,
    FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_users (tenant_id, user_id)
);
CREATE INDEX sessions_user ON sessions (user_id, created_at DESC);
SELECT app_protect_tenant_table('sessions');
-- A user lists and revokes their own sessions in any tenant.
CREATE POLICY self ON sessions TO gateway_app
    USING (user_id = app_current_user()) WITH CHECK (user_id = app_current_user());
GRANT SELECT, INSERT, UPDATE ON sessions TO gateway_app, gateway_ops;

-- Refresh tokens, stored as SHA-256 of their secret. A session is one rotation family: each
-- refresh spends its token and issues the next; presenting a spent token revokes the family.
CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    session_id   uuid NOT NULL REFERENCES sessions (id),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    replaced_by  uuid
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
SELECT app_protect_tenant_table('refresh_tokens');
GRANT SELECT, INSERT, UPDATE ON refresh_tokens TO gateway_app, gateway_ops;

-- ------------------------------------------------------------------ invitations and resets
CREATE TABLE invitations (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    user_id      uuid NOT NULL,
    roles        text[] NOT NULL,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_by   uuid,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz,
    FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_users (tenant_id, user_id)
);
SELECT app_protect_tenant_table('invitations');
GRANT SELECT, INSERT, UPDATE ON invitations TO gateway_app, gateway_ops;

-- Password resets belong to a user, not a tenant: visible only to that user's transaction.
CREATE TABLE password_resets (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
ALTER TABLE password_resets ENABLE ROW LEVEL SECURITY;
ALTER TABLE password_resets FORCE ROW LEVEL SECURITY;
CREATE POLICY self ON password_resets TO gateway_app
    USING (user_id = app_current_user()) WITH CHECK (user_id = app_current_user());
CREATE POLICY ops_all ON password_resets TO gateway_ops USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON password_resets TO gateway_app, gateway_ops;

-- ------------------------------------------------------------------ login attempts
-- Every login, by email (whether or not a user has it): the lockout counts these.
CREATE TABLE login_attempts (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    user_id       uuid,
    ip            text,
    user_agent    text,
    succeeded     boolean NOT NULL,
    reason        text NOT NULL,
    attempted_at  timestamptz NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, attempted_at DESC);
ALTER TABLE login_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY append ON login_attempts FOR INSERT TO gateway_app WITH CHECK (true);
CREATE POLICY ops_all ON login_attempts TO gateway_ops USING (true) WITH CHECK (true);
CREATE POLICY identity_read ON login_attempts FOR SELECT TO gateway_identity USING (true);
GRANT INSERT ON login_attempts TO gateway_app;
GRANT SELECT, INSERT ON login_attempts TO gateway_ops;
GRANT SELECT ON login_attempts TO gateway_identity;

-- ------------------------------------------------------------------ audit log
-- Append-only: no role may update or delete. tenant_id is the tenant acted on (NULL for platform
-- actions); actor_tenant_id is the actor's own tenant, different when a platform admin acts for one.
CREATE TABLE audit_log (
    id               uuid PRIMARY KEY,
    tenant_id        uuid REFERENCES tenants (id),
    actor_kind       text NOT NULL CHECK (actor_kind IN ('user', 'system', 'anonymous')),
    actor_user_id    uuid,
    actor_tenant_id  uuid,
    action           text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    target_type      text NOT NULL,
    target_id        text,
    cross_tenant     boolean NOT NULL DEFAULT false,
    ip               text,
    user_agent       text,
    request_id       text,
    before           jsonb,
    after            jsonb,
    occurred_at      timestamptz NOT NULL
);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, occurred_at DESC, id DESC);
SELECT app_protect_tenant_table('audit_log');
GRANT SELECT, INSERT ON audit_log TO gateway_app, gateway_ops;

-- ------------------------------------------------------------------ before a tenant is known
-- Login: the user with this email (if any), its password hash, and the failures that count toward
-- the lockout: failed attempts for the email since `since` and since its last success. Always one
-- row, so the unknown-email path runs the same statements as the known one.
CREATE FUNCTION identity_login_lookup(p_email text, p_since timestamptz)
    RETURNS TABLE (user_id uuid, password_hash text, failures integer, last_failure_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    WITH u AS (SELECT id, password_hash FROM users WHERE email = p_email),
         last_ok AS (SELECT max(attempted_at) AS at FROM login_attempts
                     WHERE email = p_email AND succeeded AND attempted_at >= p_since),
         fails AS (SELECT count(*)::integer AS n, max(attempted_at) AS at FROM login_attempts, last_ok
                   WHERE email = p_email AND NOT succeeded AND reason = 'bad_credentials'
                     AND attempted_at >= p_since
                     AND (last_ok.at IS NULL OR attempted_at > last_ok.at))
    SELECT u.id, u.password_hash, fails.n, fails.at FROM fails LEFT JOIN u ON true
    $$;

-- Invitation: the id of the user with this email, created (without password) when there is none.
-- Tells the caller nothing else about the user.
CREATE FUNCTION identity_ensure_user(p_id uuid, p_email text, p_name text, p_now timestamptz)
    RETURNS uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    INSERT INTO users (id, email, display_name, created_at, updated_at)
    VALUES (p_id, p_email, p_name, p_now, p_now)
    ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
    RETURNING id
    $$;

ALTER FUNCTION identity_login_lookup(text, timestamptz) OWNER TO gateway_identity;
ALTER FUNCTION identity_ensure_user(uuid, text, text, timestamptz) OWNER TO gateway_identity;
REVOKE ALL ON FUNCTION identity_login_lookup(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION identity_ensure_user(uuid, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION identity_login_lookup(text, timestamptz) TO gateway_app;
GRANT EXECUTE ON FUNCTION identity_ensure_user(uuid, text, text, timestamptz) TO gateway_app, gateway_ops;
