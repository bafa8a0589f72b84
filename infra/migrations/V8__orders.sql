-- Orders: channels (where orders come from, with their webhook secrets sealed), field-mapping
-- profiles (versioned), customer approvals for approval-gated products, orders with their lines,
-- status history and events, per-tenant order numbers, webhook deliveries seen (deduplication), and
-- the exceptions every pillar writes to.

-- A tenant's channels. `code` is the channel name SKU mappings use (`shopify`, `woocommerce`, ...).
CREATE TABLE channels (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    code              text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    kind              text NOT NULL CHECK (kind IN ('shopify', 'woocommerce', 'custom', 'portal')),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The webhook secret, AES-256-GCM sealed (AAD: the channel id); never returned after creation.
    secret_sealed     bytea,
    -- A channel price may differ from the tenant's list by this much (basis points) before the
    -- order is held for review.
    price_tolerance_bp integer NOT NULL DEFAULT 500 CHECK (price_tolerance_bp BETWEEN 0 AND 10000),
    active            boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, code)
);
SELECT app_protect_tenant_table('channels');
GRANT SELECT, INSERT, UPDATE ON channels TO gateway_app;
GRANT SELECT ON channels TO gateway_ops;

-- How a custom channel's payload becomes an order: RFC 9535 JSONPath selections, defaults,
-- constants, transforms, required fields. Versioned: a new version is a new row; orders record the
-- version they were read with.
CREATE TABLE field_mapping_profiles (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    channel_id  uuid NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    rules       jsonb NOT NULL,
    created_by  uuid REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id),
    UNIQUE (channel_id, version)
);
SELECT app_protect_tenant_table('field_mapping_profiles');
GRANT SELECT, INSERT ON field_mapping_profiles TO gateway_app;
GRANT SELECT ON field_mapping_profiles TO gateway_ops;

-- Approvals the tenant's own system registered for a customer and an approval-gated product. No
-- clinical data: who, what, until when, and the tenant's reference.
CREATE TABLE customer_approvals (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    customer_key  text NOT NULL CHECK (length(customer_key) BETWEEN 3 AND 320),
    product_id    uuid NOT NULL REFERENCES products (id),
    reference     text CHECK (length(reference) <= 200),
    approved_at   timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    created_by    uuid REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at > approved_at)
);
CREATE INDEX customer_approvals_lookup ON customer_approvals (tenant_id, customer_key, product_id, expires_at);
SELECT app_protect_tenant_table('customer_approvals');
GRANT SELECT, INSERT, UPDATE ON customer_approvals TO gateway_app;
GRANT SELECT ON customer_approvals TO gateway_ops;

-- The next human order number of each tenant.
CREATE TABLE order_numbers (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id),
    last       bigint NOT NULL CHECK (last >= 0)
);
SELECT app_protect_tenant_table('order_numbers');
GRANT SELECT, INSERT, UPDATE ON order_numbers TO gateway_app;
GRANT SELECT ON order_numbers TO gateway_ops;

CREATE TABLE orders (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    number             bigint NOT NULL,
    status             text NOT NULL CHECK (status IN ('needs_review', 'on_hold', 'accepted', 'payment_pending',
                           'payment_authorized', 'payment_failed', 'inventory_reserved', 'backordered',
                           'fulfillment_submitted', 'partially_shipped', 'shipped', 'delivered', 'cancelled')),
    -- The state an operator's hold left (restored on release).
    held_from          text,
    channel_id         uuid,
    source             text NOT NULL CHECK (source IN ('admin', 'portal', 'api', 'shopify', 'woocommerce', 'custom')),
    external_id        text CHECK (length(external_id) BETWEEN 1 AND 200),
    idempotency_key    text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    customer_email     text CHECK (length(customer_email) <= 320),
    customer_name      text CHECK (length(customer_name) <= 200),
    customer_phone     text CHECK (length(customer_phone) <= 50),
    shipping_address   jsonb,
    billing_address    jsonb,
    payment_source     text NOT NULL CHECK (payment_source IN ('token', 'external', 'terms')),
    payment_token      text CHECK (length(payment_token) <= 200),
    payment_status     text CHECK (length(payment_status) <= 50),
    payment_reference  text CHECK (length(payment_reference) <= 200),
    subtotal_minor     bigint NOT NULL,
    discount_minor     bigint NOT NULL DEFAULT 0,
    shipping_minor     bigint NOT NULL DEFAULT 0,
    tax_minor          bigint NOT NULL DEFAULT 0,
    total_minor        bigint NOT NULL,
    -- How the amounts were reached: the channel's totals, or the price lists and promotions used.
    pricing            jsonb NOT NULL DEFAULT '{}',
    promotion_codes    text[] NOT NULL DEFAULT '{}',
    notes              text CHECK (length(notes) <= 2000),
    profile_version    integer,
    placed_by          uuid REFERENCES users (id),
    placed_at          timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, number),
    -- Exactly once, backed by the database: a crash between the idempotency store and this table
    -- can never make a second order.
    UNIQUE (tenant_id, idempotency_key)
);
-- One order per channel order id (an external id given without a channel is unique too).
CREATE UNIQUE INDEX orders_external_id ON orders
    (tenant_id, COALESCE(channel_id, '00000000-0000-0000-0000-000000000000'::uuid), external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX orders_status ON orders (tenant_id, status, id);
CREATE INDEX orders_email ON orders (tenant_id, lower(customer_email));
SELECT app_protect_tenant_table('orders');
GRANT SELECT, INSERT, UPDATE ON orders TO gateway_app;
GRANT SELECT, UPDATE ON orders TO gateway_ops;

CREATE TABLE order_lines (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL,
    order_id            uuid NOT NULL,
    line_no             integer NOT NULL CHECK (line_no >= 1),
    tenant_sku          text CHECK (length(tenant_sku) <= 128),
    channel_product_id  text CHECK (length(channel_product_id) <= 64),
    channel_variant_id  text CHECK (length(channel_variant_id) <= 64),
    name                text CHECK (length(name) <= 300),
    -- NULL while the SKU is unknown (the order then waits in needs_review).
    product_id          uuid REFERENCES products (id),
    platform_sku        text,
    quantity            integer NOT NULL CHECK (quantity > 0),
    unit_price_minor    bigint NOT NULL CHECK (unit_price_minor >= 0),
    discount_minor      bigint NOT NULL DEFAULT 0 CHECK (discount_minor >= 0),
    tax_minor           bigint NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
    total_minor         bigint NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    UNIQUE (order_id, line_no)
);
CREATE INDEX order_lines_sku ON order_lines (tenant_id, platform_sku);
SELECT app_protect_tenant_table('order_lines');
GRANT SELECT, INSERT, UPDATE ON order_lines TO gateway_app;
GRANT SELECT, UPDATE ON order_lines TO gateway_ops;

CREATE TABLE order_status_history (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    order_id     uuid NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    reason       text,
    actor_kind   text NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'system', 'channel')),
    actor_id     uuid,
    at           timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
CREATE INDEX order_status_history_order ON order_status_history (order_id, at);
SELECT app_protect_tenant_table('order_status_history');
GRANT SELECT, INSERT ON order_status_history TO gateway_app;
GRANT SELECT, INSERT ON order_status_history TO gateway_ops;

-- The events an order went through (a copy of what the outbox published, kept with the order).
CREATE TABLE order_events (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    order_id    uuid NOT NULL,
    event_type  text NOT NULL,
    data        jsonb NOT NULL,
    at          timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
CREATE INDEX order_events_order ON order_events (order_id, at);
SELECT app_protect_tenant_table('order_events');
GRANT SELECT, INSERT ON order_events TO gateway_app;
GRANT SELECT, INSERT ON order_events TO gateway_ops;

-- Channel webhook deliveries seen: a redelivery (same key) changes nothing.
CREATE TABLE channel_deliveries (
    tenant_id    uuid NOT NULL,
    channel_id   uuid NOT NULL,
    dedupe_key   text NOT NULL CHECK (length(dedupe_key) BETWEEN 1 AND 300),
    topic        text NOT NULL,
    order_id     uuid,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, dedupe_key),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id)
);
SELECT app_protect_tenant_table('channel_deliveries');
GRANT SELECT, INSERT, UPDATE (order_id) ON channel_deliveries TO gateway_app;
GRANT SELECT ON channel_deliveries TO gateway_ops;

-- Exceptions: every pillar writes here (intake: unknown SKU, price off the list, unsecured channel
-- payment; later: payments, stock, fulfilment). V2's table grows an order, a severity, a status and
-- a resolution; tenant admins read and resolve their own; consumers still append for any tenant.
ALTER TABLE exception_records DROP CONSTRAINT exception_records_kind_check;
ALTER TABLE exception_records
    ADD CONSTRAINT exception_records_kind_check CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    ADD COLUMN order_id uuid,
    ADD COLUMN severity text NOT NULL DEFAULT 'error' CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    ADD COLUMN status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    ADD COLUMN details jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN resolution text CHECK (length(resolution) <= 2000),
    ADD COLUMN resolved_by uuid REFERENCES users (id),
    ALTER COLUMN attempts SET DEFAULT 0,
    ALTER COLUMN source SET DEFAULT 'intake';
CREATE INDEX exception_records_order ON exception_records (tenant_id, order_id) WHERE order_id IS NOT NULL;
CREATE INDEX exception_records_tenant_open ON exception_records (tenant_id, kind) WHERE status = 'open';
UPDATE exception_records SET status = 'resolved' WHERE resolved_at IS NOT NULL;
-- Dead letters stay operations' business (their payloads are raw messages).
CREATE POLICY tenant_read ON exception_records FOR SELECT TO gateway_app
    USING (tenant_id = app_current_tenant() AND kind NOT IN ('dead_letter', 'undeliverable_event'));
CREATE POLICY tenant_resolve ON exception_records FOR UPDATE TO gateway_app
    USING (tenant_id = app_current_tenant() AND kind NOT IN ('dead_letter', 'undeliverable_event'))
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, UPDATE (status, resolution, resolved_by, resolved_at) ON exception_records TO gateway_app;

-- ------------------------------------------------------------------ before a tenant is known
-- A channel's webhook arrives with only the channel id in its URL: this gives the tenant and what
-- the signature check needs (the secret still sealed), for a channel of that kind, and only to a
-- transaction that acts for no tenant yet. The handler then works in that tenant.
CREATE POLICY identity_read ON channels FOR SELECT TO gateway_identity USING (true);
GRANT SELECT (id, tenant_id, code, kind, secret_sealed, price_tolerance_bp, active) ON channels TO gateway_identity;

CREATE FUNCTION channel_webhook_target(p_channel uuid, p_kind text)
    RETURNS TABLE (tenant_id uuid, code text, secret_sealed bytea, price_tolerance_bp integer, active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT tenant_id, code, secret_sealed, price_tolerance_bp, active FROM channels
          WHERE id = p_channel AND kind = p_kind AND app_current_tenant() IS NULL $$;
ALTER FUNCTION channel_webhook_target(uuid, text) OWNER TO gateway_identity;
REVOKE ALL ON FUNCTION channel_webhook_target(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION channel_webhook_target(uuid, text) TO gateway_app;
