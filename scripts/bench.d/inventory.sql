-- pgbench replay of one reservation transaction as `inventory::reserve_order` runs it (the
-- `inventory-reserve` step) for an order of the demo tenant Apex: 2 × RT-EXO-5ML shipping to KY, the
-- whole demand reserved at the platform warehouse LOU-1 (payment_authorized -> inventory_reserved).
-- The same statements, in the same order, as gateway_ops with the tenant set and no user. The order
-- is a random one of Apex's first `orders` (run with -D orders=N, in the default -M simple: ids are
-- substituted inside quotes): the service is handed its id and reads and locks the row by id
-- (WHERE o.id = $1 FOR UPDATE OF o), here it is found and locked by its number instead. Replayed
-- on the same orders again and again, so the service's own early exit (an order not
-- payment_authorized, or with stock records already) is not taken: every transaction runs the happy
-- path in full, and the reservation insert adds to the row it finds (its ON CONFLICT, as in the
-- service). The level has a billion units (set by the bench first), so it never becomes low: no
-- low-stock alert.
-- Used by `scripts/bench inventory`.
\set n random(1, :orders)
BEGIN;
SELECT set_config('app.tenant_id', '0193a0c0-0000-7000-8000-000000000001', true), set_config('app.user_id', '', true);
SELECT o.id, o.number, o.status, o.source, o.channel_id, o.external_id, o.currency,
        o.customer_email, o.customer_name, o.shipping_address, o.billing_address, o.payment_source, o.payment_status,
        o.payment_reference, o.subtotal_minor, o.discount_minor, o.shipping_minor, o.tax_minor, o.total_minor,
        o.pricing, o.promotion_codes, o.notes, o.placed_at, o.created_at, o.updated_at, o.placed_by,
        o.payment_method_id
   FROM orders o WHERE o.tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND o.number = :n FOR UPDATE OF o \gset o_
SELECT line_no, tenant_sku, channel_product_id, channel_variant_id, name, product_id, platform_sku, quantity,
                    unit_price_minor, discount_minor, tax_minor, total_minor
               FROM order_lines WHERE order_id = ':o_id' ORDER BY line_no;
SELECT EXISTS (SELECT 1 FROM reservations WHERE order_id = ':o_id')
                 OR EXISTS (SELECT 1 FROM backorders WHERE order_id = ':o_id');
SELECT value FROM tenant_settings WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND key = 'inventory.short_stock';
SELECT l.warehouse_id, l.platform_sku, l.on_hand - l.reserved - l.committed, w.kind = 'internal',
                    array_position(w.zones, 'KY'::text), w.priority, w.code, w.active
               FROM stock_levels l JOIN warehouses w ON w.id = l.warehouse_id
              WHERE l.platform_sku = ANY(ARRAY['RT-EXO-5ML'])
              ORDER BY l.platform_sku, l.warehouse_id
                FOR UPDATE OF l;
INSERT INTO reservations (id, tenant_id, order_id, warehouse_id, platform_sku, quantity, status, created_at, updated_at)
         VALUES (gen_random_uuid(), '0193a0c0-0000-7000-8000-000000000001', ':o_id', '0193a0c0-0000-7000-8000-000000000901',
                 'RT-EXO-5ML', 2, 'reserved', now(), now())
         ON CONFLICT (order_id, platform_sku, warehouse_id)
         DO UPDATE SET quantity = reservations.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
         RETURNING id \gset r_
INSERT INTO stock_levels (id, warehouse_id, platform_sku, owner_tenant_id, updated_at)
         SELECT gen_random_uuid(), w.id, 'RT-EXO-5ML', w.owner_tenant_id, now() FROM warehouses w
          WHERE w.id = '0193a0c0-0000-7000-8000-000000000901'
         ON CONFLICT (warehouse_id, platform_sku) DO NOTHING;
UPDATE stock_levels l SET on_hand = l.on_hand + 0, reserved = l.reserved + 2, committed = l.committed + 0,
                    backordered = l.backordered + 0, updated_at = now(),
                    low_alerted = (l.on_hand + 0 - l.reserved - 2 - l.committed - 0) <= COALESCE(l.reorder_point, 5)
               FROM (SELECT low_alerted AS was FROM stock_levels
                      WHERE warehouse_id = '0193a0c0-0000-7000-8000-000000000901' AND platform_sku = 'RT-EXO-5ML' FOR UPDATE) o
              WHERE l.warehouse_id = '0193a0c0-0000-7000-8000-000000000901' AND l.platform_sku = 'RT-EXO-5ML'
             RETURNING l.owner_tenant_id, l.on_hand, l.reserved, l.committed, l.backordered,
                       CASE WHEN l.low_alerted AND NOT o.was THEN l.owner_tenant_id END \gset l_
INSERT INTO inventory_movements (id, owner_tenant_id, warehouse_id, platform_sku, reason, note, actor_kind,
                                          actor_id, tenant_id, order_id, reservation_id, on_hand, reserved, committed,
                                          backordered, at)
         VALUES (gen_random_uuid(), ':l_owner_tenant_id', '0193a0c0-0000-7000-8000-000000000901', 'RT-EXO-5ML', 'reserved',
                 NULL, 'system', NULL, '0193a0c0-0000-7000-8000-000000000001', ':o_id', ':r_id', 0, 2, 0, 0, now());
UPDATE orders SET status = 'inventory_reserved', updated_at = now() WHERE id = ':o_id';
INSERT INTO order_status_history (id, tenant_id, order_id, from_status, to_status, reason, actor_kind, actor_id, at)
         VALUES (gen_random_uuid(), '0193a0c0-0000-7000-8000-000000000001', ':o_id', 'payment_authorized', 'inventory_reserved',
                 'every unit reserved', 'system', NULL, now());
SELECT number, source, currency, total_minor, payment_source FROM orders WHERE id = ':o_id' \gset e_
SELECT kind FROM exception_records WHERE order_id = ':o_id' AND status = 'open' ORDER BY id;
-- The service makes the event id itself (Uuid::now_v7) and reuses it for order_events; here the
-- database makes it and hands it back (RETURNING id, the only addition to the statement).
INSERT INTO outbox (id, tenant_id, event_type, event_version, occurred_at, data, next_attempt_at)
         VALUES (gen_random_uuid(), '0193a0c0-0000-7000-8000-000000000001', 'order.inventory_reserved', 1, now(),
                 '{"order_id": ":o_id", "number": :e_number, "status": "inventory_reserved", "source": ":e_source", "currency": ":e_currency", "total": :e_total_minor, "payment_source": ":e_payment_source"}',
                 now())
         RETURNING id \gset ev_
INSERT INTO order_events (id, tenant_id, order_id, event_type, data, at)
         VALUES (':ev_id', '0193a0c0-0000-7000-8000-000000000001', ':o_id', 'order.inventory_reserved',
                 '{"order_id": ":o_id", "number": :e_number, "status": "inventory_reserved", "source": ":e_source", "currency": ":e_currency", "total": :e_total_minor, "payment_source": ":e_payment_source"}',
                 now());
COMMIT;
