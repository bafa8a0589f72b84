-- A customer's reusable payment method: the gateways' vault credentials made from one-time tokens
-- (NMI customer_vault_id; Authorize.net customer profile and payment profile), with what may be
-- shown of the card (brand, last four, expiry). Never a card number, never a CVV, never a token.
CREATE TABLE payment_methods (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    customer_email  text NOT NULL CHECK (length(customer_email) BETWEEN 3 AND 254),
    brand           text CHECK (length(brand) BETWEEN 1 AND 30),
    last4           text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    exp_month       integer NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year        integer NOT NULL CHECK (exp_year BETWEEN 2000 AND 2100),
    -- [{"gateway": "nmi", "customer_vault_id"}, {"gateway": "authorize_net", "customer_profile_id", "payment_profile_id"}]
    credentials     jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
SELECT app_protect_tenant_table('payment_methods');
GRANT SELECT, INSERT ON payment_methods TO gateway_app;
GRANT SELECT ON payment_methods TO gateway_ops;
