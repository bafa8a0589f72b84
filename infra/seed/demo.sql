-- Demo data for the local stack (scripts/dev). Idempotent: safe to load on every start.
-- The demo people (with argon2id hashes, made at seed time) are added by functions/src/local/demo.rs.
INSERT INTO tenants (id, slug, name, kind) VALUES
    ('0193a0c0-0000-7000-8000-000000000000', 'regen-platform', 'Regen Therapy Platform', 'platform'),
    ('0193a0c0-0000-7000-8000-000000000001', 'apex-regen-clinic', 'Apex Regenerative Clinic', 'clinic'),
    ('0193a0c0-0000-7000-8000-000000000002', 'northwind-wellness', 'Northwind Wellness', 'partner_brand')
ON CONFLICT (id) DO NOTHING;

-- Apex ships to Kentucky, California and Texas, in US dollars, on invoice terms unless an order says
-- otherwise (so the product brief's quick-start order, with no currency and no payment, is taken).
INSERT INTO tenant_settings (tenant_id, key, value) VALUES
    ('0193a0c0-0000-7000-8000-000000000001', 'orders.serviceable_states', '["KY", "CA", "TX"]'),
    ('0193a0c0-0000-7000-8000-000000000001', 'orders.currency', '"USD"'),
    ('0193a0c0-0000-7000-8000-000000000001', 'orders.default_payment_source', '"terms"'),
    ('0193a0c0-0000-7000-8000-000000000002', 'orders.currency', '"USD"'),
    ('0193a0c0-0000-7000-8000-000000000001', 'session.idle_timeout_minutes', '15'),
    ('0193a0c0-0000-7000-8000-000000000002', 'session.idle_timeout_minutes', '30')
ON CONFLICT (tenant_id, key) DO NOTHING;

-- A marketplace vendor with a product waiting for the platform's review.
INSERT INTO tenants (id, slug, name, kind) VALUES
    ('0193a0c0-0000-7000-8000-000000000003', 'cryo-supply', 'Cryo Supply Co', 'vendor')
ON CONFLICT (id) DO NOTHING;

-- The platform catalog (owned by the platform tenant: approved at once; the vendor's is pending).
INSERT INTO categories (id, slug, name) VALUES
    ('0193a0c0-0000-7000-8000-000000000201', 'serums', 'Serums'),
    ('0193a0c0-0000-7000-8000-000000000202', 'kits', 'Preparation kits'),
    ('0193a0c0-0000-7000-8000-000000000203', 'supplies', 'Clinic supplies')
ON CONFLICT (id) DO NOTHING;

INSERT INTO products (id, owner_tenant_id, sku, name, category_id, weight_grams, length_mm, width_mm, height_mm,
                      approval_gated, review_status)
SELECT p.id::uuid, '0193a0c0-0000-7000-8000-000000000000', p.sku, p.name, p.category::uuid, p.grams, p.l, p.w, p.h,
       p.gated, 'approved'
  FROM (VALUES
    ('0193a0c0-0000-7000-8000-000000000211', 'RT-EXO-5ML', 'Exosome serum 5 ml', '0193a0c0-0000-7000-8000-000000000201', 60, 40, 40, 90, false),
    ('0193a0c0-0000-7000-8000-000000000212', 'RT-EXO-10ML', 'Exosome serum 10 ml', '0193a0c0-0000-7000-8000-000000000201', 90, 40, 40, 110, false),
    ('0193a0c0-0000-7000-8000-000000000213', 'RT-PRP-KIT', 'PRP preparation kit', '0193a0c0-0000-7000-8000-000000000202', 450, 220, 150, 80, false),
    ('0193a0c0-0000-7000-8000-000000000214', 'RT-HA-2ML', 'Hyaluronic filler 2 ml', '0193a0c0-0000-7000-8000-000000000201', 70, 30, 30, 120, false),
    ('0193a0c0-0000-7000-8000-000000000215', 'RT-SAMPLE-SACHET', 'Exosome serum sample sachet', '0193a0c0-0000-7000-8000-000000000201', 5, 60, 40, 2, false),
    ('0193a0c0-0000-7000-8000-000000000216', 'RT-APPL-TIPS', 'Applicator tips, pack of 10', '0193a0c0-0000-7000-8000-000000000203', 40, 120, 60, 20, false),
    ('0193a0c0-0000-7000-8000-000000000217', 'RT-PEP-BPC', 'BPC peptide vial (approval required)', '0193a0c0-0000-7000-8000-000000000201', 30, 30, 30, 60, true)
  ) AS p(id, sku, name, category, grams, l, w, h, gated)
ON CONFLICT DO NOTHING;

INSERT INTO products (id, owner_tenant_id, sku, name, category_id, weight_grams, length_mm, width_mm, height_mm)
VALUES ('0193a0c0-0000-7000-8000-000000000221', '0193a0c0-0000-7000-8000-000000000003', 'VND-CRYO-PACK',
        'Cryo recovery pack', '0193a0c0-0000-7000-8000-000000000203', 800, 300, 200, 60)
ON CONFLICT DO NOTHING;

-- Each demo tenant's private-label catalog.
INSERT INTO catalog_items (id, tenant_id, product_id, tenant_sku, name)
SELECT i.id::uuid, i.tenant::uuid, p.id, i.tenant_sku, i.name
  FROM (VALUES
    ('0193a0c0-0000-7000-8000-000000000301', '0193a0c0-0000-7000-8000-000000000001', 'RT-EXO-5ML', 'APX-GLOW-5', 'Apex Glow Serum 5 ml'),
    ('0193a0c0-0000-7000-8000-000000000302', '0193a0c0-0000-7000-8000-000000000001', 'RT-EXO-10ML', 'APX-GLOW-10', 'Apex Glow Serum 10 ml'),
    ('0193a0c0-0000-7000-8000-000000000303', '0193a0c0-0000-7000-8000-000000000001', 'RT-PRP-KIT', 'APX-PRP', 'Apex PRP Kit'),
    ('0193a0c0-0000-7000-8000-000000000304', '0193a0c0-0000-7000-8000-000000000001', 'RT-SAMPLE-SACHET', 'APX-SACHET', 'Apex Glow sample'),
    ('0193a0c0-0000-7000-8000-000000000305', '0193a0c0-0000-7000-8000-000000000001', 'RT-APPL-TIPS', 'APX-TIPS', 'Apex applicator tips'),
    ('0193a0c0-0000-7000-8000-000000000306', '0193a0c0-0000-7000-8000-000000000001', 'RT-PEP-BPC', 'APX-BPC', 'Apex BPC vial'),
    ('0193a0c0-0000-7000-8000-000000000311', '0193a0c0-0000-7000-8000-000000000002', 'RT-EXO-5ML', 'NW-RENEW-5', 'Northwind Renew Serum 5 ml'),
    ('0193a0c0-0000-7000-8000-000000000312', '0193a0c0-0000-7000-8000-000000000002', 'RT-PRP-KIT', 'NW-PRP', 'Northwind PRP Kit'),
    ('0193a0c0-0000-7000-8000-000000000313', '0193a0c0-0000-7000-8000-000000000002', 'RT-HA-2ML', 'NW-FILL-2', 'Northwind Filler 2 ml')
  ) AS i(id, tenant, sku, tenant_sku, name)
  JOIN products p ON p.sku = i.sku
ON CONFLICT DO NOTHING;

-- SKU mappings for the real channel payloads in ../shared/fixtures: the Shopify test order's
-- IPOD2008PINK, and the WooCommerce sample's product 93 (sent with sku "") and Bar3; and the
-- product brief's quick-start SKU, TENANT-SKU-001, from any channel.
INSERT INTO sku_mappings (id, tenant_id, kind, channel, identifier, product_id, note)
SELECT m.id::uuid, '0193a0c0-0000-7000-8000-000000000001', m.kind, m.channel, m.identifier, p.id, m.note
  FROM (VALUES
    ('0193a0c0-0000-7000-8000-000000000401', 'sku', 'shopify', 'IPOD2008PINK', 'RT-EXO-10ML', 'Shopify test notification order'),
    ('0193a0c0-0000-7000-8000-000000000402', 'channel_product', 'woocommerce', '93', 'RT-SAMPLE-SACHET', 'WooCommerce "Woo Single #1" (empty SKU)'),
    ('0193a0c0-0000-7000-8000-000000000403', 'sku', 'woocommerce', 'Bar3', 'RT-APPL-TIPS', 'WooCommerce "Ship Your Idea"'),
    ('0193a0c0-0000-7000-8000-000000000404', 'alias', NULL, 'GLOW5', 'RT-EXO-5ML', 'old brochure SKU'),
    ('0193a0c0-0000-7000-8000-000000000405', 'sku', NULL, 'TENANT-SKU-001', 'RT-EXO-10ML', 'the product brief''s quick-start SKU')
  ) AS m(id, kind, channel, identifier, sku, note)
  JOIN products p ON p.sku = m.sku
ON CONFLICT DO NOTHING;

-- Prices (minor units, USD). Apex pays the fixture prices for the mapped products.
INSERT INTO price_lists (id, tenant_id, name, currency, customer_tier, mode, priority, valid_from) VALUES
    ('0193a0c0-0000-7000-8000-000000000501', '0193a0c0-0000-7000-8000-000000000001', 'Apex clinic list', 'USD', NULL, 'volume', 0, '2026-01-01T00:00:00Z'),
    ('0193a0c0-0000-7000-8000-000000000511', '0193a0c0-0000-7000-8000-000000000002', 'Northwind list', 'USD', NULL, 'volume', 0, '2026-01-01T00:00:00Z'),
    ('0193a0c0-0000-7000-8000-000000000512', '0193a0c0-0000-7000-8000-000000000002', 'Northwind wholesale', 'USD', 'wholesale', 'graduated', 0, '2026-01-01T00:00:00Z')
ON CONFLICT DO NOTHING;

INSERT INTO price_list_prices (tenant_id, price_list_id, product_id, min_quantity, unit_price_minor)
SELECT l.tenant_id, l.id, p.id, x.min_q, x.price
  FROM (VALUES
    ('0193a0c0-0000-7000-8000-000000000501', 'RT-EXO-5ML', 1, 12900), ('0193a0c0-0000-7000-8000-000000000501', 'RT-EXO-5ML', 10, 11900),
    ('0193a0c0-0000-7000-8000-000000000501', 'RT-EXO-10ML', 1, 19900), ('0193a0c0-0000-7000-8000-000000000501', 'RT-EXO-10ML', 10, 18900),
    ('0193a0c0-0000-7000-8000-000000000501', 'RT-PRP-KIT', 1, 34900),
    ('0193a0c0-0000-7000-8000-000000000501', 'RT-SAMPLE-SACHET', 1, 300),
    ('0193a0c0-0000-7000-8000-000000000501', 'RT-APPL-TIPS', 1, 1200),
    ('0193a0c0-0000-7000-8000-000000000501', 'RT-PEP-BPC', 1, 8900),
    ('0193a0c0-0000-7000-8000-000000000511', 'RT-EXO-5ML', 1, 13500), ('0193a0c0-0000-7000-8000-000000000511', 'RT-EXO-5ML', 25, 12000),
    ('0193a0c0-0000-7000-8000-000000000511', 'RT-PRP-KIT', 1, 36900),
    ('0193a0c0-0000-7000-8000-000000000511', 'RT-HA-2ML', 1, 25900),
    ('0193a0c0-0000-7000-8000-000000000512', 'RT-EXO-5ML', 1, 13000), ('0193a0c0-0000-7000-8000-000000000512', 'RT-EXO-5ML', 10, 11000),
    ('0193a0c0-0000-7000-8000-000000000512', 'RT-EXO-5ML', 50, 9500)
  ) AS x(list, sku, min_q, price)
  JOIN price_lists l ON l.id = x.list::uuid
  JOIN products p ON p.sku = x.sku
ON CONFLICT DO NOTHING;

-- One promotion each.
INSERT INTO promotions (id, tenant_id, code, description, discount_type, percent_bp, amount_minor, currency, applies_to,
                        min_order_minor, starts_at, ends_at, usage_limit, per_customer_limit, stackable)
VALUES
    ('0193a0c0-0000-7000-8000-000000000601', '0193a0c0-0000-7000-8000-000000000001', 'WELCOME10',
     '10 % off a first order', 'percentage', 1000, NULL, NULL, 'order', NULL,
     '2026-01-01T00:00:00Z', '2028-01-01T00:00:00Z', NULL, 1, false),
    ('0193a0c0-0000-7000-8000-000000000611', '0193a0c0-0000-7000-8000-000000000002', 'NWSAVE25',
     '25.00 off orders of 200.00 or more', 'fixed', NULL, 2500, 'USD', 'order', 20000,
     '2026-01-01T00:00:00Z', '2028-01-01T00:00:00Z', 100, NULL, false)
ON CONFLICT DO NOTHING;
