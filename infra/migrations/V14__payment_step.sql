-- The payment step of the order pipeline, and captures that follow shipments.

-- A `token` order may be paid with a stored payment method instead of a one-time token; a retried
-- payment names the method it was retried with. (The one-time token is cleared once it is used.)
ALTER TABLE orders ADD COLUMN payment_method_id uuid;

-- What a payment is for: the order's authorization (one live per order), a later shipment's own
-- sale (a capture can be made once per authorization), or a re-authorization replacing an
-- authorization about to expire.
ALTER TABLE payments ADD COLUMN purpose text NOT NULL DEFAULT 'order'
    CHECK (purpose IN ('order', 'shipment', 'reauthorization'));
DROP INDEX payments_one_live_per_order;
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id)
    WHERE purpose = 'order' AND (status IN ('pending', 'authorized', 'captured') OR (status = 'refunded' AND refunded < captured));

-- Each shipment of an order, as its money followed it: the amount that shipped, and how it was
-- charged (`capture` of the authorization, a `sale` on the stored method, or `covered` by an
-- earlier whole capture). One row per shipment: a repeated call changes nothing.
CREATE TABLE payment_shipments (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    order_id      uuid NOT NULL,
    shipment_ref  text NOT NULL CHECK (length(shipment_ref) BETWEEN 1 AND 100),
    amount        bigint NOT NULL CHECK (amount >= 0),
    charged       bigint NOT NULL CHECK (charged >= 0),
    how           text NOT NULL CHECK (how IN ('capture', 'sale', 'covered', 'released')),
    payment_id    uuid,
    created_at    timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    UNIQUE (tenant_id, order_id, shipment_ref)
);
SELECT app_protect_tenant_table('payment_shipments');
GRANT SELECT, INSERT ON payment_shipments TO gateway_app;
GRANT SELECT, INSERT ON payment_shipments TO gateway_ops;

-- The background jobs (gateway_ops) make payments too: a re-authorization replacing one about to
-- expire.
GRANT INSERT ON payments TO gateway_ops;
