-- Demo data for the local stack (scripts/dev). Idempotent: safe to load on every start.
-- The demo people (with argon2id hashes, made at seed time) are added by functions/src/local/demo.rs.
INSERT INTO tenants (id, slug, name, kind) VALUES
    ('0193a0c0-0000-7000-8000-000000000000', 'regen-platform', 'Regen Therapy Platform', 'platform'),
    ('0193a0c0-0000-7000-8000-000000000001', 'apex-regen-clinic', 'Apex Regenerative Clinic', 'clinic'),
    ('0193a0c0-0000-7000-8000-000000000002', 'northwind-wellness', 'Northwind Wellness', 'partner_brand')
ON CONFLICT (id) DO NOTHING;

INSERT INTO tenant_settings (tenant_id, key, value) VALUES
    ('0193a0c0-0000-7000-8000-000000000001', 'session.idle_timeout_minutes', '15'),
    ('0193a0c0-0000-7000-8000-000000000002', 'session.idle_timeout_minutes', '30')
ON CONFLICT (tenant_id, key) DO NOTHING;
