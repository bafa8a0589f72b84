-- Payments configuration: the platform is the merchant of record. Its merchant accounts at the two
-- gateways (credentials are Secrets Manager references, never stored here), account sets (which
-- NMI and Authorize.net accounts charge together, which one is primary, the descriptor), the
-- platform's default set, and the set platform staff assign a tenant instead of the default.

CREATE TABLE merchant_accounts (
    id                  uuid PRIMARY KEY,
    gateway             text NOT NULL CHECK (gateway IN ('nmi', 'authorize_net')),
    name                text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    -- The provider's base URL (its production or sandbox host; a local sandbox on a local stack).
    base_url            text NOT NULL CHECK (base_url ~ '^https?://[^/?#@]+$'),
    -- The Secrets Manager secret holding the credentials (NMI: security_key; Authorize.net:
    -- login_id and transaction_key). A reference, never the credentials.
    credentials_secret  text NOT NULL CHECK (length(credentials_secret) BETWEEN 1 AND 512),
    enabled             boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON merchant_accounts TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON merchant_accounts TO gateway_ops;

CREATE TABLE payment_account_sets (
    id                        uuid PRIMARY KEY,
    name                      text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    -- What the customer's statement shows.
    descriptor                text NOT NULL CHECK (length(descriptor) BETWEEN 1 AND 22),
    primary_gateway           text NOT NULL CHECK (primary_gateway IN ('nmi', 'authorize_net')),
    nmi_account_id            uuid REFERENCES merchant_accounts (id),
    authorize_net_account_id  uuid REFERENCES merchant_accounts (id),
    platform_default          boolean NOT NULL DEFAULT false,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CHECK (nmi_account_id IS NOT NULL OR authorize_net_account_id IS NOT NULL),
    CHECK ((primary_gateway = 'nmi' AND nmi_account_id IS NOT NULL)
        OR (primary_gateway = 'authorize_net' AND authorize_net_account_id IS NOT NULL))
);
-- One platform default at most.
CREATE UNIQUE INDEX payment_account_sets_one_default ON payment_account_sets (platform_default) WHERE platform_default;
GRANT SELECT ON payment_account_sets TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON payment_account_sets TO gateway_ops;

-- A tenant's own account set (absent: the platform default). Assigned by platform staff only.
CREATE TABLE tenant_payment_accounts (
    tenant_id       uuid PRIMARY KEY REFERENCES tenants (id),
    account_set_id  uuid NOT NULL REFERENCES payment_account_sets (id),
    assigned_at     timestamptz NOT NULL DEFAULT now()
);
SELECT app_protect_tenant_table('tenant_payment_accounts');
GRANT SELECT ON tenant_payment_accounts TO gateway_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_payment_accounts TO gateway_ops;
