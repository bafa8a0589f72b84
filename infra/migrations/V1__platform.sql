-- Platform foundation: database roles, the tenant setting row-level security reads, tenants and
-- tenant settings. Later migrations add each context's tables the same way: tenant_id,
-- app_protect_tenant_table(...), explicit grants.

-- gateway_app: the HTTP functions' role. Owns nothing, cannot bypass row-level security.
-- gateway_ops: cross-tenant work (relay, reconcilers, sweeps, platform admins); every use audited.
-- Cluster-wide roles, so created only when missing. Passwords are set outside migrations (Secrets
-- Manager in AWS; the local cluster trusts loopback).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gateway_app') THEN
        CREATE ROLE gateway_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gateway_ops') THEN
        CREATE ROLE gateway_ops LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO gateway_app, gateway_ops;

-- The tenant of the current transaction, set by the service with
-- set_config('app.tenant_id', <uuid>, true). NULL when unset, so no row matches.
CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

-- The one way a tenant-scoped table is protected: RLS enabled and forced; gateway_app sees and
-- writes only rows of the transaction's tenant; gateway_ops (cross-tenant work) sees all.
-- Grants stay explicit per table, next to the table.
CREATE FUNCTION app_protect_tenant_table(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s TO gateway_app '
                   'USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', tbl);
    EXECUTE format('CREATE POLICY ops_all ON %s TO gateway_ops USING (true) WITH CHECK (true)', tbl);
END
$$;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL DEFAULT 'clinic'
                CHECK (kind IN ('clinic', 'partner_brand', 'reseller', 'vendor', 'platform')),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
-- A tenant sees its own row only; creating and changing tenants is cross-tenant work.
CREATE POLICY tenant_self ON tenants TO gateway_app USING (id = app_current_tenant());
CREATE POLICY ops_all ON tenants TO gateway_ops USING (true) WITH CHECK (true);
GRANT SELECT ON tenants TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON tenants TO gateway_ops;

CREATE TABLE tenant_settings (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key         text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_.]{0,99}$'),
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

SELECT app_protect_tenant_table('tenant_settings');
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_settings TO gateway_app, gateway_ops;
