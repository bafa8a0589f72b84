-- pgbench replay of one intake transaction as `POST /api/v1/orders` runs it for the demo tenant
-- Apex (a portal order of 2 × APX-GLOW-5, priced by the price list): the same statements, as
-- gateway_app under row-level security (the order is found by its number where the handler keeps its
-- id in memory). Used by `scripts/bench intake`.
BEGIN;
SELECT set_config('app.tenant_id', '0193a0c0-0000-7000-8000-000000000001', true),
       set_config('app.user_id', '0193a0c0-0000-7000-8000-000000000101', true);
SELECT value FROM tenant_settings WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND key = 'orders.serviceable_states';
SELECT id FROM orders WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001'
   AND ((NULL::text IS NOT NULL AND idempotency_key = NULL::text)
     OR (NULL::text IS NOT NULL AND channel_id IS NOT DISTINCT FROM NULL::uuid AND external_id = NULL::text)) LIMIT 1;
SELECT i.n, r.product_id, r.matched_by, r.mapping_id, p.sku, p.name, p.active, ci.tenant_sku, ci.name, p.approval_gated
  FROM unnest(ARRAY[0], ARRAY['APX-GLOW-5'], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::text]) AS i(n, sku, channel, pid, variant)
  LEFT JOIN LATERAL (
      SELECT c.product_id, c.matched_by, c.mapping_id FROM (
          SELECT m.product_id, m.kind AS matched_by, m.id AS mapping_id, CASE WHEN m.channel_key <> '' THEN 3 ELSE 4 END AS rank
            FROM sku_mappings m
           WHERE i.sku IS NOT NULL AND m.tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND m.namespace = 'sku'
             AND m.identifier_key = lower(i.sku) AND m.channel_key IN ('', COALESCE(i.channel, ''))
          UNION ALL
          SELECT x.product_id, 'tenant_sku', NULL, 5 FROM catalog_items x
           WHERE i.sku IS NOT NULL AND x.tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND lower(x.tenant_sku) = lower(i.sku)
      ) c ORDER BY c.rank LIMIT 1
  ) r ON true
  LEFT JOIN products p ON p.id = r.product_id AND p.review_status = 'approved'
  LEFT JOIN catalog_items ci ON ci.tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND ci.product_id = r.product_id;
SELECT l.id, l.name, l.currency, l.mode, l.customer_tier FROM price_lists l
 WHERE l.tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND l.active AND l.valid_from <= now()
   AND (l.valid_until IS NULL OR l.valid_until > now()) AND (l.customer_tier IS NULL OR l.customer_tier = NULL)
   AND EXISTS (SELECT 1 FROM price_list_prices x WHERE x.price_list_id = l.id AND x.product_id = '0193a0c0-0000-7000-8000-000000000211')
 ORDER BY (l.customer_tier IS NOT NULL) DESC, l.priority DESC, l.valid_from DESC, l.id DESC;
SELECT min_quantity::bigint, unit_price_minor FROM price_list_prices
 WHERE price_list_id = '0193a0c0-0000-7000-8000-000000000501' AND product_id = '0193a0c0-0000-7000-8000-000000000211' ORDER BY min_quantity;
INSERT INTO order_numbers (tenant_id, last) VALUES ('0193a0c0-0000-7000-8000-000000000001', 1)
    ON CONFLICT (tenant_id) DO UPDATE SET last = order_numbers.last + 1 RETURNING last \gset
INSERT INTO orders (id, tenant_id, number, status, source, currency, customer_email, shipping_address, payment_source,
                    subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor, pricing, placed_by, placed_at,
                    created_at, updated_at)
VALUES (gen_random_uuid(), '0193a0c0-0000-7000-8000-000000000001', :last, 'accepted', 'portal', 'USD', 'bench@example.com',
        '{"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"}', 'terms',
        25800, 0, 0, 0, 25800, '{"source": "price_list"}', '0193a0c0-0000-7000-8000-000000000101', now(), now(), now())
ON CONFLICT DO NOTHING;
INSERT INTO order_lines (id, tenant_id, order_id, line_no, tenant_sku, product_id, platform_sku, quantity, unit_price_minor,
                         discount_minor, tax_minor, total_minor)
VALUES (gen_random_uuid(), '0193a0c0-0000-7000-8000-000000000001', (SELECT id FROM orders WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND number = :last), 1, 'APX-GLOW-5',
        '0193a0c0-0000-7000-8000-000000000211', 'RT-EXO-5ML', 2, 12900, 0, 0, 25800);
INSERT INTO order_status_history (id, tenant_id, order_id, from_status, to_status, reason, actor_kind, actor_id, at)
VALUES (gen_random_uuid(), '0193a0c0-0000-7000-8000-000000000001', (SELECT id FROM orders WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND number = :last), NULL, 'accepted', 'validated, mapped and priced',
        'user', '0193a0c0-0000-7000-8000-000000000101', now());
SELECT number, source, currency, total_minor, payment_source,
       ARRAY(SELECT kind FROM exception_records WHERE order_id = (SELECT id FROM orders WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND number = :last) AND status = 'open' ORDER BY id)
  FROM orders WHERE id = (SELECT id FROM orders WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND number = :last);
WITH event AS (
    INSERT INTO outbox (id, tenant_id, event_type, event_version, occurred_at, data, next_attempt_at)
    VALUES (gen_random_uuid(), '0193a0c0-0000-7000-8000-000000000001', 'order.accepted', 1, now(),
            '{"order_id": "x", "status": "accepted"}', now()) RETURNING id)
INSERT INTO order_events (id, tenant_id, order_id, event_type, data, at)
SELECT event.id, '0193a0c0-0000-7000-8000-000000000001', (SELECT id FROM orders WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND number = :last), 'order.accepted', '{}', now() FROM event;
SELECT o.id, o.number FROM orders o WHERE o.id = (SELECT id FROM orders WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND number = :last);
SELECT line_no FROM order_lines WHERE order_id = (SELECT id FROM orders WHERE tenant_id = '0193a0c0-0000-7000-8000-000000000001' AND number = :last);
COMMIT;
