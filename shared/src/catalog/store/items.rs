//! The SQL of a tenant's catalog items.

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::catalog::model::{CatalogItem, Error, ItemFields, Writer};
use crate::platform::error::unique_violation;
use crate::platform::tenant::TenantId;

const SELECT: &str =
    "SELECT i.id, i.product_id, p.sku, p.name, i.tenant_sku, i.name, i.description, i.visibility,
        p.active, p.approval_gated, i.created_at, i.updated_at
   FROM catalog_items i JOIN products p ON p.id = i.product_id";

fn item(r: &Row) -> CatalogItem {
    CatalogItem {
        id: r.get(0),
        product_id: r.get(1),
        platform_sku: r.get(2),
        product_name: r.get(3),
        tenant_sku: r.get(4),
        name: r.get(5),
        description: r.get(6),
        visibility: r.get(7),
        product_active: r.get(8),
        approval_gated: r.get(9),
        created_at: r.get(10),
        updated_at: r.get(11),
    }
}

/// A clash: the tenant SKU is taken, or the catalog already sells the product.
fn conflict(e: tokio_postgres::Error, sku: &str) -> Error {
    match unique_violation(&e) {
        Some("catalog_items_sku") => Error::Conflict {
            code: "tenant_sku_taken",
            detail: format!("another item has the tenant SKU {sku:?}"),
        },
        Some(_) => Error::Conflict {
            code: "already_in_catalog",
            detail: "the catalog already sells this product (add further SKUs as aliases)".into(),
        },
        None => e.into(),
    }
}

/// One item of the tenant the transaction is scoped to, locked for update when `lock`.
pub async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<CatalogItem, Error> {
    let lock = if lock { " FOR UPDATE OF i" } else { "" };
    tx.query_opt(&format!("{SELECT} WHERE i.id = $1{lock}"), &[&id])
        .await?
        .map(|r| item(&r))
        .ok_or_else(|| Error::NotFound(format!("catalog item {id}")))
}

/// The filters of an item listing (`like`: a contains-pattern of a SKU or a name).
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub like: Option<String>,
    pub visibility: Option<&'a str>,
    pub product_id: Option<Uuid>,
}

/// One page of the tenant's catalog, newest first (`limit + 1` rows).
pub async fn list(
    tx: &Transaction<'_>,
    tenant: TenantId,
    f: &Filter<'_>,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<CatalogItem>, Error> {
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE i.tenant_id = $1
                   AND ($2::text IS NULL OR i.tenant_sku ILIKE $2 OR p.sku ILIKE $2 OR i.name ILIKE $2 OR p.name ILIKE $2)
                   AND ($3::text IS NULL OR i.visibility = $3) AND ($4::uuid IS NULL OR i.product_id = $4)
                   AND ($5::uuid IS NULL OR i.id < $5)
                 ORDER BY i.id DESC LIMIT $6"
            ),
            &[&tenant.as_uuid(), &f.like, &f.visibility, &f.product_id, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(item).collect())
}

/// Adds a product to the tenant's catalog (no name: the platform's; the other fields as given).
pub async fn insert(
    tx: &Transaction<'_>,
    by: Writer,
    id: Uuid,
    product: Uuid,
    f: &ItemFields,
) -> Result<(), Error> {
    let tenant_sku = f.tenant_sku.as_deref().unwrap_or_default();
    let description = f.description.as_deref().unwrap_or_default();
    let visibility = f.visibility.as_deref().unwrap_or_default();
    tx.execute(
        "INSERT INTO catalog_items (id, tenant_id, product_id, tenant_sku, name, description, visibility, created_by,
                                    created_at, updated_at)
         SELECT $1, $2, $3, $4, COALESCE($5, p.name), $6, $7, $8, $9, $9 FROM products p WHERE p.id = $3",
        &[&id, &by.tenant.as_uuid(), &product, &tenant_sku, &f.name, &description, &visibility, &by.user, &by.now],
    )
    .await
    .map_err(|e| conflict(e, tenant_sku))?;
    Ok(())
}

/// Writes an item's tenant SKU, name, description and visibility.
pub async fn update(tx: &Transaction<'_>, i: &CatalogItem, now: DateTime<Utc>) -> Result<(), Error> {
    tx.execute(
        "UPDATE catalog_items SET tenant_sku = $2, name = $3, description = $4, visibility = $5, updated_at = $6
          WHERE id = $1",
        &[&i.id, &i.tenant_sku, &i.name, &i.description, &i.visibility, &now],
    )
    .await
    .map_err(|e| conflict(e, &i.tenant_sku))?;
    Ok(())
}

pub async fn delete(tx: &Transaction<'_>, id: Uuid) -> Result<(), Error> {
    tx.execute("DELETE FROM catalog_items WHERE id = $1", &[&id]).await?;
    Ok(())
}
