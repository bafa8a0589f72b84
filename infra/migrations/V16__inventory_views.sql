-- Inventory, part 2: levels get an id (pages of levels), a low-stock alert is sent once per dip
-- (cleared when the level rises above its reorder point again).
ALTER TABLE stock_levels ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE stock_levels ADD CONSTRAINT stock_levels_id UNIQUE (id);
ALTER TABLE stock_levels ADD COLUMN low_alerted boolean NOT NULL DEFAULT false;

CREATE INDEX inventory_movements_owner ON inventory_movements (owner_tenant_id, id);
CREATE INDEX reservations_order ON reservations (order_id);
CREATE INDEX backorders_order ON backorders (order_id);

-- What a tenant may know of stock it does not own: the units available across active warehouses of
-- each platform SKU it asks about — no warehouse, no other tenant's reservation.
CREATE FUNCTION stock_available(p_skus text[])
    RETURNS TABLE (platform_sku text, available bigint, warehouses bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT l.platform_sku, sum(l.on_hand - l.reserved - l.committed)::bigint, count(*)
            FROM stock_levels l JOIN warehouses w ON w.id = l.warehouse_id
           WHERE l.platform_sku = ANY(p_skus) AND w.active
           GROUP BY l.platform_sku $$;
ALTER FUNCTION stock_available(text[]) OWNER TO gateway_ops;
REVOKE ALL ON FUNCTION stock_available(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stock_available(text[]) TO gateway_app;

-- Finance reads stock (the matrix in identity/model/roles.rs).
INSERT INTO role_permissions (role_code, permission) VALUES
    ('FINANCE_ADMIN', 'inventory:read:all'),
    ('FINANCE_ADMIN', 'warehouses:read:all'),
    ('FINANCE', 'inventory:read:all'),
    ('FINANCE', 'warehouses:read:all')
ON CONFLICT DO NOTHING;
