-- Payments of orders and every gateway call made for them. An attempt is committed `attempted`
-- before its call, in a transaction of its own, then finished with its outcome; it is never sent
-- again (a retry asks the gateway about it). Amounts are integer minor units.

CREATE TABLE payments (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    order_id             uuid NOT NULL,
    status               text NOT NULL CHECK (status IN ('pending', 'authorized', 'captured', 'voided', 'refunded', 'failed')),
    intent               text NOT NULL CHECK (intent IN ('sale', 'authorize')),
    amount               bigint NOT NULL CHECK (amount > 0),
    currency             text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    payment_method_id    uuid,
    account_set_id       uuid REFERENCES payment_account_sets (id),
    -- The gateway and account holding the charge, and its transaction there (once taken).
    gateway              text CHECK (gateway IN ('nmi', 'authorize_net')),
    merchant_account_id  uuid REFERENCES merchant_accounts (id),
    transaction_id       text,
    authorized           bigint NOT NULL DEFAULT 0 CHECK (authorized >= 0),
    captured             bigint NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= GREATEST(authorized, amount)),
    refunded             bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= captured),
    decline_code         text,
    failure_reason       text,
    -- The Idempotency-Key of the charge that made it: a retry after the key's record was lost
    -- (or its lease ran out) finds the payment here instead of charging again.
    idempotency_key      text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key)
);
-- One live payment per order: a second charge for an order whose payment is pending, authorized,
-- captured or partly refunded is refused, whatever key it carries.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id)
    WHERE status IN ('pending', 'authorized', 'captured') OR (status = 'refunded' AND refunded < captured);
CREATE INDEX payments_by_tenant_created ON payments (tenant_id, created_at DESC, id DESC);
SELECT app_protect_tenant_table('payments');
GRANT SELECT, INSERT, UPDATE ON payments TO gateway_app;
GRANT SELECT, UPDATE ON payments TO gateway_ops;

CREATE TABLE payment_attempts (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL,
    payment_id           uuid NOT NULL,
    operation            text NOT NULL CHECK (operation IN ('sale', 'authorize', 'capture', 'void', 'refund')),
    gateway              text NOT NULL CHECK (gateway IN ('nmi', 'authorize_net')),
    merchant_account_id  uuid NOT NULL REFERENCES merchant_accounts (id),
    amount               bigint NOT NULL CHECK (amount >= 0),
    -- Our reference at the gateway: NMI orderid, Authorize.net invoiceNumber (at most 20).
    reference            text NOT NULL UNIQUE CHECK (reference ~ '^[A-Za-z0-9_-]{1,20}$'),
    status               text NOT NULL CHECK (status IN ('queued', 'attempted', 'approved', 'declined', 'not_processed', 'unknown')),
    transaction_id       text,
    code                 text,
    reason               text,
    -- `<operation>:<Idempotency-Key>` of the capture, void or refund request that made it (a
    -- charge's key is on its payment): a retry finds the attempt here and asks about it.
    idempotency_key      text,
    -- A reconciler run asking the gateway about it holds it until then (two runs ask once).
    reconcile_until      timestamptz,
    created_at           timestamptz NOT NULL,
    finished_at          timestamptz,
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key)
);
-- Operations on one payment are serialised across instances: at most one call in flight (or of
-- unknown outcome) per payment.
CREATE UNIQUE INDEX payment_attempts_one_open ON payment_attempts (payment_id) WHERE status IN ('attempted', 'unknown');
CREATE INDEX payment_attempts_open ON payment_attempts (created_at) WHERE status IN ('attempted', 'unknown', 'queued');
CREATE INDEX payment_attempts_by_payment ON payment_attempts (payment_id, created_at);
SELECT app_protect_tenant_table('payment_attempts');
GRANT SELECT, INSERT, UPDATE ON payment_attempts TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON payment_attempts TO gateway_ops;

CREATE TABLE payment_history (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    payment_id   uuid NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    reason       text NOT NULL,
    at           timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id)
);
CREATE INDEX payment_history_by_payment ON payment_history (payment_id, id);
SELECT app_protect_tenant_table('payment_history');
GRANT SELECT, INSERT ON payment_history TO gateway_app;
GRANT SELECT, INSERT ON payment_history TO gateway_ops;

-- What asking a gateway found that our books did not say (the reconcilers record here too).
CREATE TABLE payment_discrepancies (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    payment_id   uuid NOT NULL,
    kind         text NOT NULL CHECK (length(kind) BETWEEN 1 AND 60),
    detail       text NOT NULL,
    found_at     timestamptz NOT NULL,
    resolved_at  timestamptz,
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id)
);
SELECT app_protect_tenant_table('payment_discrepancies');
GRANT SELECT, INSERT ON payment_discrepancies TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON payment_discrepancies TO gateway_ops;
