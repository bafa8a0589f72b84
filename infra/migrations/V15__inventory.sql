-- Inventory: warehouses, stock per platform SKU and warehouse, the movement ledger every change is
-- a row of, reservations of orders and their backorders. Quantities are whole units.

-- A warehouse belongs to its owner: the platform or a marketplace vendor. `zones` ranks the
-- destination states it serves, nearest first, so "nearest" needs no network.
CREATE TABLE warehouses (
    id               uuid PRIMARY KEY,
    owner_tenant_id  uuid NOT NULL REFERENCES tenants (id),
    code             text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,40}$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind             text NOT NULL CHECK (kind IN ('internal', '3pl')),
    address          jsonb NOT NULL,
    priority         integer NOT NULL DEFAULT 100 CHECK (priority BETWEEN 0 AND 10000),
    active           boolean NOT NULL DEFAULT true,
    zones            text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (owner_tenant_id, code)
);
ALTER TABLE warehouses ENABLE ROW LEVEL SECURITY;
ALTER TABLE warehouses FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON warehouses TO gateway_app
    USING (owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()))
    WITH CHECK (owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()));
CREATE POLICY ops_all ON warehouses TO gateway_ops USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON warehouses TO gateway_app, gateway_ops;

-- Stock of one platform SKU at one warehouse. available = on_hand − reserved − committed, never
-- below zero (the database refuses it). Levels are never written but with a ledger row in the same
-- transaction: they always equal the sums of `inventory_movements`.
CREATE TABLE stock_levels (
    warehouse_id     uuid NOT NULL REFERENCES warehouses (id),
    platform_sku     text NOT NULL CHECK (length(platform_sku) BETWEEN 1 AND 100),
    owner_tenant_id  uuid NOT NULL REFERENCES tenants (id),
    on_hand          bigint NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved         bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    committed        bigint NOT NULL DEFAULT 0 CHECK (committed >= 0),
    backordered      bigint NOT NULL DEFAULT 0 CHECK (backordered >= 0),
    reorder_point    bigint CHECK (reorder_point >= 0),
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (warehouse_id, platform_sku),
    CHECK (on_hand - reserved - committed >= 0)
);
CREATE INDEX stock_levels_sku ON stock_levels (platform_sku, warehouse_id);
ALTER TABLE stock_levels ENABLE ROW LEVEL SECURITY;
ALTER TABLE stock_levels FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON stock_levels TO gateway_app
    USING (owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()))
    WITH CHECK (owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()));
CREATE POLICY ops_all ON stock_levels TO gateway_ops USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON stock_levels TO gateway_app, gateway_ops;

-- The ledger: every change of a level, per bucket, with why and for whom. `tenant_id` is the
-- tenant whose order moved it (none for a receipt or an adjustment).
CREATE TABLE inventory_movements (
    id               uuid PRIMARY KEY,
    owner_tenant_id  uuid NOT NULL REFERENCES tenants (id),
    warehouse_id     uuid NOT NULL,
    platform_sku     text NOT NULL,
    reason           text NOT NULL CHECK (reason ~ '^[a-z][a-z_]{0,39}$'),
    note             text CHECK (length(note) <= 1000),
    actor_kind       text NOT NULL,
    actor_id         uuid,
    tenant_id        uuid REFERENCES tenants (id),
    order_id         uuid,
    reservation_id   uuid,
    on_hand          bigint NOT NULL DEFAULT 0,
    reserved         bigint NOT NULL DEFAULT 0,
    committed        bigint NOT NULL DEFAULT 0,
    backordered      bigint NOT NULL DEFAULT 0,
    at               timestamptz NOT NULL,
    FOREIGN KEY (warehouse_id, platform_sku) REFERENCES stock_levels (warehouse_id, platform_sku)
);
CREATE INDEX inventory_movements_level ON inventory_movements (warehouse_id, platform_sku, id);
CREATE INDEX inventory_movements_order ON inventory_movements (order_id) WHERE order_id IS NOT NULL;
ALTER TABLE inventory_movements ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_movements FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_read ON inventory_movements FOR SELECT TO gateway_app
    USING (owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()));
CREATE POLICY owner_write ON inventory_movements FOR INSERT TO gateway_app
    WITH CHECK (owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()));
CREATE POLICY ops_all ON inventory_movements TO gateway_ops USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON inventory_movements TO gateway_app, gateway_ops;

-- An order's units held at a warehouse: reserved → committed (a label bought) → shipped, or
-- released. One row per order, SKU and warehouse.
CREATE TABLE reservations (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    order_id       uuid NOT NULL,
    warehouse_id   uuid NOT NULL REFERENCES warehouses (id),
    platform_sku   text NOT NULL,
    quantity       bigint NOT NULL CHECK (quantity > 0),
    status         text NOT NULL CHECK (status IN ('reserved', 'committed', 'shipped', 'released')),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    UNIQUE (order_id, platform_sku, warehouse_id)
);
SELECT app_protect_tenant_table('reservations');
GRANT SELECT ON reservations TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON reservations TO gateway_ops;

-- Units an order waits for (short stock under the `backorder` policy), filled oldest first as
-- stock arrives.
CREATE TABLE backorders (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    order_id       uuid NOT NULL,
    platform_sku   text NOT NULL,
    -- The warehouse that will fill it (none when no warehouse stocks the SKU yet).
    warehouse_id   uuid REFERENCES warehouses (id),
    quantity       bigint NOT NULL CHECK (quantity > 0),
    status         text NOT NULL CHECK (status IN ('open', 'filled', 'cancelled')),
    created_at     timestamptz NOT NULL,
    filled_at      timestamptz,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    UNIQUE (order_id, platform_sku)
);
CREATE INDEX backorders_open ON backorders (platform_sku, created_at) WHERE status = 'open';
SELECT app_protect_tenant_table('backorders');
GRANT SELECT ON backorders TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON backorders TO gateway_ops;
