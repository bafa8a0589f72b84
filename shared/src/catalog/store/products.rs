//! The SQL of platform products and categories.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::catalog::model::{Category, Decision, Dimensions, Error, Product, ProductFields, Writer};
use crate::platform::error::unique_violation;

/// The product the acting tenant may sell under this platform SKU (approved), as (id, SKU).
pub async fn sellable(tx: &Transaction<'_>, platform_sku: &str) -> Result<Option<(Uuid, String)>, Error> {
    Ok(tx
        .query_opt(
            "SELECT id, sku FROM products WHERE lower(sku) = lower($1) AND review_status = 'approved'",
            &[&platform_sku.trim()],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// The approved products among lowercased platform SKUs: lowercased SKU → product id.
pub async fn sellable_by_sku(
    tx: &Transaction<'_>,
    lowered: &[String],
) -> Result<HashMap<String, Uuid>, Error> {
    Ok(tx
        .query(
            "SELECT lower(sku), id FROM products WHERE lower(sku) = ANY($1) AND review_status = 'approved'",
            &[&lowered],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Whether a product is orderable only with a customer approval (`None`: no such product).
pub async fn approval_gated(tx: &Transaction<'_>, product: Uuid) -> Result<Option<bool>, Error> {
    Ok(tx
        .query_opt("SELECT approval_gated FROM products WHERE id = $1", &[&product])
        .await?
        .map(|r| r.get(0)))
}

/// The platform SKU of each product the transaction can see: product id → SKU.
pub async fn skus(tx: &Transaction<'_>, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, Error> {
    Ok(tx
        .query("SELECT id, sku FROM products WHERE id = ANY($1)", &[&ids])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Categories

const CATEGORY: &str = "SELECT id, slug, name, parent_id, created_at, updated_at FROM categories";

fn category(r: &Row) -> Category {
    Category {
        id: r.get(0),
        slug: r.get(1),
        name: r.get(2),
        parent_id: r.get(3),
        created_at: r.get(4),
        updated_at: r.get(5),
    }
}

/// One category, locked for update when `lock`.
pub async fn category_by_id(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Category, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    tx.query_opt(&format!("{CATEGORY} WHERE id = $1{lock}"), &[&id])
        .await?
        .map(|r| category(&r))
        .ok_or_else(|| Error::NotFound(format!("category {id}")))
}

/// One page of categories, newest first (`limit + 1` rows; `like`: a contains-pattern).
pub async fn categories(
    tx: &Transaction<'_>,
    like: Option<&str>,
    parent: Option<Uuid>,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Category>, Error> {
    let rows = tx
        .query(
            &format!(
                "{CATEGORY} WHERE ($1::text IS NULL OR name ILIKE $1 OR slug ILIKE $1)
                   AND ($2::uuid IS NULL OR parent_id = $2) AND ($3::uuid IS NULL OR id < $3)
                 ORDER BY id DESC LIMIT $4"
            ),
            &[&like, &parent, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(category).collect())
}

/// Whether `parent` exists (`None`: it does not) and is `own` or one of its descendants.
pub async fn parent_cycle(
    tx: &Transaction<'_>,
    parent: Uuid,
    own: Option<Uuid>,
) -> Result<Option<bool>, Error> {
    Ok(tx
        .query_opt(
            "WITH RECURSIVE up AS (SELECT id, parent_id FROM categories WHERE id = $1
                UNION ALL SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id)
             SELECT COALESCE(bool_or(id = $2), false) FROM up HAVING count(*) > 0",
            &[&parent, &own],
        )
        .await?
        .and_then(|r| r.get::<_, Option<bool>>(0)))
}

/// Inserts a category; a 409 when the slug is taken.
pub async fn insert_category(
    tx: &Transaction<'_>,
    id: Uuid,
    slug: &str,
    name: &str,
    parent: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO categories (id, slug, name, parent_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        &[&id, &slug, &name, &parent, &now],
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => Error::Conflict { code: "slug_taken", detail: format!("a category has the slug {slug:?}") },
        None => e.into(),
    })?;
    Ok(())
}

pub async fn update_category(
    tx: &Transaction<'_>,
    id: Uuid,
    name: &str,
    parent: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE categories SET name = $2, parent_id = $3, updated_at = $4 WHERE id = $1",
        &[&id, &name, &parent, &now],
    )
    .await?;
    Ok(())
}

pub async fn category_exists(tx: &Transaction<'_>, id: Uuid) -> Result<bool, Error> {
    Ok(tx.query_opt("SELECT 1 FROM categories WHERE id = $1", &[&id]).await?.is_some())
}

// ---------------------------------------------------------------------------------------------
// Products

const PRODUCT: &str = "SELECT p.id, p.sku, p.name, p.description, p.category_id, p.weight_grams, p.length_mm,
        p.width_mm, p.height_mm, p.active, p.approval_gated, p.source,
        CASE WHEN p.owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform())
             THEN p.owner_tenant_id END,
        p.review_status, p.review_reason, p.reviewed_at, p.created_at, p.updated_at, p.created_by
   FROM products p";

fn product_row(r: &Row) -> Product {
    Product {
        id: r.get(0),
        sku: r.get(1),
        name: r.get(2),
        description: r.get(3),
        category_id: r.get(4),
        weight_grams: r.get(5),
        dimensions_mm: Dimensions { length: r.get(6), width: r.get(7), height: r.get(8) },
        active: r.get(9),
        approval_gated: r.get(10),
        source: r.get(11),
        owner_tenant_id: r.get(12),
        review_status: r.get(13),
        review_reason: r.get(14),
        reviewed_at: r.get(15),
        created_at: r.get(16),
        updated_at: r.get(17),
    }
}

/// A product the transaction's tenant can see (not found otherwise). For an update it is locked,
/// and `own` (a caller whose permission reaches only their own objects) must have created it.
pub async fn product(
    tx: &Transaction<'_>,
    id: Uuid,
    for_update: bool,
    own: Option<Uuid>,
) -> Result<Product, Error> {
    let sql = if for_update {
        format!("{PRODUCT} WHERE p.id = $1 AND ($2::uuid IS NULL OR p.created_by = $2) FOR UPDATE")
    } else {
        format!("{PRODUCT} WHERE p.id = $1 AND $2::uuid IS NULL")
    };
    tx.query_opt(&sql, &[&id, &own])
        .await?
        .map(|r| product_row(&r))
        .ok_or_else(|| Error::NotFound(format!("product {id}")))
}

/// The filters of a product listing (`like`: a contains-pattern of the name or SKU).
#[derive(Debug, Default)]
pub struct ProductFilter<'a> {
    pub like: Option<String>,
    pub sku: Option<&'a str>,
    pub category_id: Option<Uuid>,
    pub active: Option<bool>,
    pub approval_gated: Option<bool>,
    pub review_status: Option<&'a str>,
    pub source: Option<&'a str>,
}

/// One page of the products the transaction's tenant can see, newest first (`limit + 1` rows).
pub async fn products(
    tx: &Transaction<'_>,
    f: &ProductFilter<'_>,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Product>, Error> {
    let rows = tx
        .query(
            &format!(
                "{PRODUCT} WHERE ($1::text IS NULL OR p.name ILIKE $1 OR p.sku ILIKE $1)
                   AND ($2::text IS NULL OR lower(p.sku) = lower($2))
                   AND ($3::uuid IS NULL OR p.category_id = $3) AND ($4::bool IS NULL OR p.active = $4)
                   AND ($5::bool IS NULL OR p.approval_gated = $5) AND ($6::text IS NULL OR p.review_status = $6)
                   AND ($7::text IS NULL OR p.source = $7) AND ($8::uuid IS NULL OR p.id < $8)
                 ORDER BY p.id DESC LIMIT $9"
            ),
            &[
                &f.like,
                &f.sku,
                &f.category_id,
                &f.active,
                &f.approval_gated,
                &f.review_status,
                &f.source,
                &cursor,
                &(limit + 1),
            ],
        )
        .await?;
    Ok(rows.iter().map(product_row).collect())
}

/// Inserts a product owned by the writer's tenant; a 409 when the platform SKU is taken.
pub async fn insert_product(
    tx: &Transaction<'_>,
    by: Writer,
    id: Uuid,
    sku: &str,
    f: &ProductFields,
) -> Result<(), Error> {
    let d = f.dimensions_mm;
    tx.execute(
        "INSERT INTO products (id, owner_tenant_id, created_by, sku, name, description, category_id, weight_grams,
                               length_mm, width_mm, height_mm, active, approval_gated, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
        &[
            &id,
            &by.tenant.as_uuid(),
            &by.user,
            &sku,
            &f.name,
            &f.description,
            &f.category_id,
            &f.weight_grams,
            &d.length,
            &d.width,
            &d.height,
            &f.active,
            &f.approval_gated,
            &by.now,
        ],
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => Error::Conflict { code: "sku_taken", detail: format!("a product has the platform SKU {sku:?}") },
        None => e.into(),
    })?;
    Ok(())
}

/// Writes a product's fields; `resubmit` sends it back to review (the database also does when an
/// approved product's reviewed fields change).
pub async fn update_product(
    tx: &Transaction<'_>,
    id: Uuid,
    f: &ProductFields,
    resubmit: bool,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let d = f.dimensions_mm;
    tx.execute(
        "UPDATE products SET name = $2, description = $3, category_id = $4, weight_grams = $5, length_mm = $6,
                width_mm = $7, height_mm = $8, active = $9, approval_gated = $10, updated_at = $11,
                review_status = CASE WHEN $12 THEN 'pending' ELSE review_status END
          WHERE id = $1",
        &[
            &id,
            &f.name,
            &f.description,
            &f.category_id,
            &f.weight_grams,
            &d.length,
            &d.width,
            &d.height,
            &f.active,
            &f.approval_gated,
            &now,
            &resubmit,
        ],
    )
    .await?;
    Ok(())
}

/// Records the platform's review decision.
pub async fn review(tx: &Transaction<'_>, by: Writer, id: Uuid, d: &Decision) -> Result<(), Error> {
    tx.execute(
        "UPDATE products SET review_status = $2, review_reason = $3, reviewed_by = $4, reviewed_at = $5, updated_at = $5
          WHERE id = $1",
        &[&id, &d.status, &d.reason, &by.user, &by.now],
    )
    .await?;
    Ok(())
}

/// The id of the product with platform SKU `sku` (any case, any review status).
pub async fn id_by_sku(tx: &Transaction<'_>, sku: &str) -> Result<Option<Uuid>, Error> {
    Ok(tx
        .query_opt("SELECT id FROM products WHERE lower(sku) = lower($1)", &[&sku.trim()])
        .await?
        .map(|r| r.get(0)))
}
