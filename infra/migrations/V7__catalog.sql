-- Catalog: platform categories and products (the platform's own, and marketplace vendors' products
-- that need platform approval), each tenant's catalog (private-label names and SKUs), SKU mappings
-- (the SKU resolution engine), price lists, promotions and their redemptions.
--
-- The platform catalog is one table for every tenant. It has no tenant_id: a product has an owner
-- (the platform tenant, or the vendor tenant that submitted it), and row-level security decides who
-- sees it: everyone sees a product once it has been approved (published; a later rejection keeps it
-- readable, so tenants still see what their catalogs and mappings point at, but only an approved
-- product can be sold, mapped or priced); an owner sees its own in any state; the platform tenant
-- sees everything (it reviews). Only the platform approves, enforced below by a trigger, not only by
-- the route's permission.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- True when the transaction acts for the platform tenant. gateway_app can read only its own tenant
-- row, so this cannot be true for anyone else.
CREATE FUNCTION app_acting_as_platform() RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT EXISTS (SELECT 1 FROM tenants WHERE id = app_current_tenant() AND kind = 'platform') $$;

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    parent_id   uuid REFERENCES categories (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);

ALTER TABLE categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE categories FORCE ROW LEVEL SECURITY;
CREATE POLICY categories_read ON categories FOR SELECT TO gateway_app USING (true);
CREATE POLICY categories_insert ON categories FOR INSERT TO gateway_app
    WITH CHECK ((SELECT app_acting_as_platform()));
CREATE POLICY categories_update ON categories FOR UPDATE TO gateway_app
    USING ((SELECT app_acting_as_platform())) WITH CHECK ((SELECT app_acting_as_platform()));
CREATE POLICY ops_all ON categories TO gateway_ops USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON categories TO gateway_app;
GRANT SELECT ON categories TO gateway_ops;

CREATE TABLE products (
    id               uuid PRIMARY KEY,
    owner_tenant_id  uuid NOT NULL REFERENCES tenants (id),
    -- platform: the platform's own; vendor: a marketplace vendor's (set from the owner's kind).
    source           text NOT NULL DEFAULT 'platform' CHECK (source IN ('platform', 'vendor')),
    created_by       uuid REFERENCES users (id),
    sku              text NOT NULL CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    category_id      uuid REFERENCES categories (id),
    weight_grams     integer NOT NULL CHECK (weight_grams > 0),
    length_mm        integer NOT NULL CHECK (length_mm > 0),
    width_mm         integer NOT NULL CHECK (width_mm > 0),
    height_mm        integer NOT NULL CHECK (height_mm > 0),
    active           boolean NOT NULL DEFAULT true,
    -- Orderable only for a customer with a registered, unexpired approval (enforced at intake).
    approval_gated   boolean NOT NULL DEFAULT false,
    review_status    text NOT NULL DEFAULT 'pending' CHECK (review_status IN ('pending', 'approved', 'rejected')),
    review_reason    text CHECK (length(review_reason) <= 1000),
    reviewed_by      uuid REFERENCES users (id),
    reviewed_at      timestamptz,
    -- When it was first approved: from then on every tenant may read it.
    published_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX products_sku ON products (lower(sku));
CREATE INDEX products_owner ON products (owner_tenant_id, id);
CREATE INDEX products_sku_trgm ON products USING gin (lower(sku) gin_trgm_ops);
CREATE INDEX products_name_trgm ON products USING gin (lower(name) gin_trgm_ops);

ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
CREATE POLICY products_read ON products FOR SELECT TO gateway_app
    USING (published_at IS NOT NULL OR owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()));
CREATE POLICY products_insert ON products FOR INSERT TO gateway_app
    WITH CHECK (owner_tenant_id = app_current_tenant());
CREATE POLICY products_update ON products FOR UPDATE TO gateway_app
    USING (owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()))
    WITH CHECK (owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform()));
CREATE POLICY ops_all ON products TO gateway_ops USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON products TO gateway_app;
GRANT SELECT ON products TO gateway_ops;

-- Who may own products and who decides their review state, for the application role (the schema
-- owner, loading seed data, is only given the publication date): only the platform and vendor
-- tenants own products; a platform product is approved at once, a vendor's starts pending; only the
-- platform changes a review state or the approval gate, except that a vendor's edit of what a
-- review looked at (name, description, category) sends its product back to pending.
CREATE FUNCTION catalog_products_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    acting_kind text;
BEGIN
    IF NEW.review_status = 'approved' AND NEW.published_at IS NULL THEN
        NEW.published_at := COALESCE(NEW.reviewed_at, now());
    END IF;
    IF current_user <> 'gateway_app' THEN
        IF TG_OP = 'INSERT' THEN
            NEW.source := CASE WHEN (SELECT kind FROM tenants WHERE id = NEW.owner_tenant_id) = 'vendor'
                               THEN 'vendor' ELSE 'platform' END;
        END IF;
        RETURN NEW;
    END IF;
    SELECT kind INTO acting_kind FROM tenants WHERE id = app_current_tenant();
    IF TG_OP = 'INSERT' THEN
        IF acting_kind IS DISTINCT FROM 'platform' AND acting_kind IS DISTINCT FROM 'vendor' THEN
            RAISE EXCEPTION 'only the platform and marketplace vendors own products' USING ERRCODE = '42501';
        END IF;
        NEW.source := acting_kind;
        NEW.review_status := CASE WHEN acting_kind = 'platform' THEN 'approved' ELSE 'pending' END;
        NEW.reviewed_by := NULL;
        NEW.reviewed_at := NULL;
        NEW.review_reason := NULL;
        NEW.published_at := CASE WHEN acting_kind = 'platform' THEN NEW.created_at END;
        RETURN NEW;
    END IF;
    IF NEW.owner_tenant_id <> OLD.owner_tenant_id OR NEW.sku <> OLD.sku OR NEW.source <> OLD.source
       OR (OLD.published_at IS NOT NULL AND NEW.published_at IS DISTINCT FROM OLD.published_at) THEN
        RAISE EXCEPTION 'a product''s owner, platform SKU and publication never change' USING ERRCODE = '42501';
    END IF;
    IF acting_kind IS DISTINCT FROM 'platform' THEN
        IF NEW.approval_gated IS DISTINCT FROM OLD.approval_gated THEN
            RAISE EXCEPTION 'only the platform sets whether a product needs a customer approval'
                USING ERRCODE = '42501';
        END IF;
        IF (NEW.name, NEW.description, NEW.category_id) IS DISTINCT FROM (OLD.name, OLD.description, OLD.category_id)
        THEN
            NEW.review_status := 'pending';
        END IF;
        IF (NEW.reviewed_by, NEW.reviewed_at, NEW.review_reason, NEW.published_at)
               IS DISTINCT FROM (OLD.reviewed_by, OLD.reviewed_at, OLD.review_reason, OLD.published_at)
           OR (NEW.review_status IS DISTINCT FROM OLD.review_status AND NEW.review_status <> 'pending') THEN
            RAISE EXCEPTION 'only the platform reviews products' USING ERRCODE = '42501';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER products_guard BEFORE INSERT OR UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION catalog_products_guard();

-- A tenant's catalog, mappings and prices may name only products it can sell: approved ones. The
-- foreign key alone would accept any product id (it does not see row-level security).
CREATE FUNCTION catalog_require_sellable_product() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF current_user = 'gateway_app'
       AND NOT EXISTS (SELECT 1 FROM products WHERE id = NEW.product_id AND review_status = 'approved') THEN
        RAISE EXCEPTION 'product % is not available to this tenant', NEW.product_id USING ERRCODE = '23503';
    END IF;
    RETURN NEW;
END
$$;

-- Which products a tenant sells, under its own (private-label) name and SKU.
CREATE TABLE catalog_items (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    product_id   uuid NOT NULL REFERENCES products (id),
    tenant_sku   text NOT NULL CHECK (length(tenant_sku) BETWEEN 1 AND 128 AND tenant_sku = btrim(tenant_sku)),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    visibility   text NOT NULL DEFAULT 'visible' CHECK (visibility IN ('visible', 'hidden')),
    created_by   uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, product_id)
);
CREATE UNIQUE INDEX catalog_items_sku ON catalog_items (tenant_id, lower(tenant_sku));
CREATE INDEX catalog_items_sku_trgm ON catalog_items USING gin (lower(tenant_sku) gin_trgm_ops);
SELECT app_protect_tenant_table('catalog_items');
GRANT SELECT, INSERT, UPDATE, DELETE ON catalog_items TO gateway_app;
GRANT SELECT ON catalog_items TO gateway_ops;
CREATE TRIGGER catalog_items_sellable BEFORE INSERT OR UPDATE OF product_id ON catalog_items
    FOR EACH ROW EXECUTE FUNCTION catalog_require_sellable_product();

-- SKU mappings: a tenant's identifier → a platform product. `sku` and `alias` match the SKU a
-- channel sends (an alias is a further private-label name); `channel_product` matches a channel's
-- own product id (and variant id), for channels that may send an empty SKU. `channel` NULL: any.
CREATE TABLE sku_mappings (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    kind            text NOT NULL CHECK (kind IN ('sku', 'alias', 'channel_product')),
    channel         text CHECK (channel ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    identifier      text NOT NULL CHECK (length(identifier) BETWEEN 1 AND 128 AND identifier = btrim(identifier)),
    variant_id      text CHECK (length(variant_id) BETWEEN 1 AND 64 AND variant_id = btrim(variant_id)),
    product_id      uuid NOT NULL REFERENCES products (id),
    note            text CHECK (length(note) <= 500),
    created_by      uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- The identity of a mapping, matched case-insensitively; SKUs and aliases share one namespace.
    channel_key     text NOT NULL GENERATED ALWAYS AS (COALESCE(channel, '')) STORED,
    namespace       text NOT NULL GENERATED ALWAYS AS (CASE WHEN kind = 'channel_product' THEN 'product' ELSE 'sku' END) STORED,
    identifier_key  text NOT NULL GENERATED ALWAYS AS (lower(identifier)) STORED,
    variant_key     text NOT NULL GENERATED ALWAYS AS (COALESCE(variant_id, '')) STORED,
    CHECK (kind <> 'channel_product' OR channel IS NOT NULL),
    CHECK (kind = 'channel_product' OR variant_id IS NULL),
    UNIQUE (tenant_id, namespace, identifier_key, channel_key, variant_key)
);
CREATE INDEX sku_mappings_product ON sku_mappings (tenant_id, product_id);
CREATE INDEX sku_mappings_trgm ON sku_mappings USING gin (identifier_key gin_trgm_ops);
SELECT app_protect_tenant_table('sku_mappings');
GRANT SELECT, INSERT, UPDATE, DELETE ON sku_mappings TO gateway_app;
GRANT SELECT ON sku_mappings TO gateway_ops;
CREATE TRIGGER sku_mappings_sellable BEFORE INSERT OR UPDATE OF product_id ON sku_mappings
    FOR EACH ROW EXECUTE FUNCTION catalog_require_sellable_product();

-- Price lists: per tenant and currency, optionally for one customer tier, valid in a window;
-- `volume` prices every unit at the highest quantity break reached, `graduated` prices each band
-- of units at its own price. Among the lists that price a product, the tier's own list wins over
-- the general one, then the higher priority, then the later start.
CREATE TABLE price_lists (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    customer_tier  text CHECK (customer_tier ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    mode           text NOT NULL DEFAULT 'volume' CHECK (mode IN ('volume', 'graduated')),
    priority       integer NOT NULL DEFAULT 0,
    valid_from     timestamptz NOT NULL,
    valid_until    timestamptz,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    UNIQUE (tenant_id, id)
);
SELECT app_protect_tenant_table('price_lists');
GRANT SELECT, INSERT, UPDATE ON price_lists TO gateway_app;
GRANT SELECT ON price_lists TO gateway_ops;

CREATE TABLE price_list_prices (
    tenant_id         uuid NOT NULL,
    price_list_id     uuid NOT NULL,
    product_id        uuid NOT NULL REFERENCES products (id),
    min_quantity      integer NOT NULL CHECK (min_quantity >= 1),
    unit_price_minor  bigint NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (price_list_id, product_id, min_quantity),
    FOREIGN KEY (tenant_id, price_list_id) REFERENCES price_lists (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX price_list_prices_product ON price_list_prices (tenant_id, product_id);
SELECT app_protect_tenant_table('price_list_prices');
GRANT SELECT, INSERT, UPDATE, DELETE ON price_list_prices TO gateway_app;
GRANT SELECT ON price_list_prices TO gateway_ops;
CREATE TRIGGER price_list_prices_sellable BEFORE INSERT OR UPDATE OF product_id ON price_list_prices
    FOR EACH ROW EXECUTE FUNCTION catalog_require_sellable_product();

-- Promotions: a code, a percentage (basis points) or fixed discount, on the order or on lines
-- (optionally only some products), with a window, usage limits, a minimum order and a stacking rule.
CREATE TABLE promotions (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    code                text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    description         text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    discount_type       text NOT NULL CHECK (discount_type IN ('percentage', 'fixed')),
    percent_bp          integer CHECK (percent_bp BETWEEN 1 AND 10000),
    amount_minor        bigint CHECK (amount_minor > 0),
    currency            text CHECK (currency ~ '^[A-Z]{3}$'),
    applies_to          text NOT NULL CHECK (applies_to IN ('order', 'line')),
    product_ids         uuid[] NOT NULL DEFAULT '{}',
    min_order_minor     bigint CHECK (min_order_minor >= 0),
    starts_at           timestamptz,
    ends_at             timestamptz,
    usage_limit         integer CHECK (usage_limit > 0),
    per_customer_limit  integer CHECK (per_customer_limit > 0),
    stackable           boolean NOT NULL DEFAULT false,
    active              boolean NOT NULL DEFAULT true,
    redemption_count    integer NOT NULL DEFAULT 0 CHECK (redemption_count >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((discount_type = 'percentage' AND percent_bp IS NOT NULL AND amount_minor IS NULL)
        OR (discount_type = 'fixed' AND amount_minor IS NOT NULL AND percent_bp IS NULL AND currency IS NOT NULL)),
    CHECK (min_order_minor IS NULL OR currency IS NOT NULL),
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at),
    CHECK (usage_limit IS NULL OR redemption_count <= usage_limit),
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX promotions_code ON promotions (tenant_id, lower(code));
SELECT app_protect_tenant_table('promotions');
GRANT SELECT, INSERT, UPDATE ON promotions TO gateway_app;
GRANT SELECT ON promotions TO gateway_ops;

-- One redemption per promotion and order: a retried request finds it instead of counting twice.
CREATE TABLE promotion_redemptions (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    promotion_id    uuid NOT NULL,
    order_ref       text NOT NULL CHECK (length(order_ref) BETWEEN 1 AND 128),
    customer_key    text CHECK (length(customer_key) <= 320),
    discount_minor  bigint NOT NULL CHECK (discount_minor >= 0),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    redeemed_at     timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, promotion_id) REFERENCES promotions (tenant_id, id),
    UNIQUE (tenant_id, promotion_id, order_ref)
);
CREATE INDEX promotion_redemptions_order ON promotion_redemptions (tenant_id, order_ref);
CREATE INDEX promotion_redemptions_customer ON promotion_redemptions (tenant_id, promotion_id, customer_key);
SELECT app_protect_tenant_table('promotion_redemptions');
GRANT SELECT, INSERT ON promotion_redemptions TO gateway_app;
GRANT SELECT ON promotion_redemptions TO gateway_ops;
