//! The SQL of price lists and their prices.

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::catalog::model::{Break, Candidate, Error, ListFields, PriceList, Writer};
use crate::platform::tenant::TenantId;

/// The active lists of `tenant` valid at `at` that price `product`, for a customer of `tier`,
/// best first: the tier's own before the general one, then priority, then the later start.
pub async fn candidates(
    tx: &Transaction<'_>,
    tenant: TenantId,
    product: Uuid,
    at: DateTime<Utc>,
    tier: Option<&str>,
) -> Result<Vec<Candidate>, Error> {
    Ok(tx
        .query(
            "SELECT l.id, l.name, l.currency, l.mode, l.customer_tier
               FROM price_lists l
              WHERE l.tenant_id = $1 AND l.active AND l.valid_from <= $3 AND (l.valid_until IS NULL OR l.valid_until > $3)
                AND (l.customer_tier IS NULL OR l.customer_tier = $4)
                AND EXISTS (SELECT 1 FROM price_list_prices x WHERE x.price_list_id = l.id AND x.product_id = $2)
              ORDER BY (l.customer_tier IS NOT NULL) DESC, l.priority DESC, l.valid_from DESC, l.id DESC",
            &[&tenant.as_uuid(), &product, &at, &tier],
        )
        .await?
        .iter()
        .map(|r| Candidate { id: r.get(0), name: r.get(1), currency: r.get(2), mode: r.get(3), customer_tier: r.get(4) })
        .collect())
}

/// A product's quantity breaks on a list, by `min_quantity`.
pub async fn breaks(tx: &Transaction<'_>, list: Uuid, product: Uuid) -> Result<Vec<Break>, Error> {
    Ok(tx
        .query(
            "SELECT min_quantity::bigint, unit_price_minor FROM price_list_prices
              WHERE price_list_id = $1 AND product_id = $2 ORDER BY min_quantity",
            &[&list, &product],
        )
        .await?
        .iter()
        .map(|r| Break { min_quantity: r.get(0), unit_price: r.get(1) })
        .collect())
}

const SELECT: &str =
    "SELECT l.id, l.name, l.currency, l.customer_tier, l.mode, l.priority, l.valid_from, l.valid_until,
        l.active, (SELECT count(DISTINCT x.product_id) FROM price_list_prices x WHERE x.price_list_id = l.id),
        l.created_at, l.updated_at
   FROM price_lists l";

fn price_list(r: &Row) -> PriceList {
    PriceList {
        id: r.get(0),
        name: r.get(1),
        currency: r.get(2),
        customer_tier: r.get(3),
        mode: r.get(4),
        priority: r.get(5),
        valid_from: r.get(6),
        valid_until: r.get(7),
        active: r.get(8),
        products: r.get(9),
        created_at: r.get(10),
        updated_at: r.get(11),
    }
}

/// One price list of the tenant the transaction is scoped to, locked for update when `lock`.
pub async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<PriceList, Error> {
    let lock = if lock { " FOR UPDATE OF l" } else { "" };
    tx.query_opt(&format!("{SELECT} WHERE l.id = $1{lock}"), &[&id])
        .await?
        .map(|r| price_list(&r))
        .ok_or_else(|| Error::NotFound(format!("price list {id}")))
}

/// The filters of a price list listing.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub currency: Option<&'a str>,
    pub customer_tier: Option<&'a str>,
    pub active: Option<bool>,
    pub valid_at: Option<DateTime<Utc>>,
}

/// One page of the tenant's price lists, newest first (`limit + 1` rows).
pub async fn list(
    tx: &Transaction<'_>,
    tenant: TenantId,
    f: &Filter<'_>,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<PriceList>, Error> {
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE l.tenant_id = $1 AND ($2::text IS NULL OR l.currency = upper($2))
                   AND ($3::text IS NULL OR l.customer_tier = $3) AND ($4::bool IS NULL OR l.active = $4)
                   AND ($5::timestamptz IS NULL OR (l.valid_from <= $5 AND (l.valid_until IS NULL OR l.valid_until > $5)))
                   AND ($6::uuid IS NULL OR l.id < $6)
                 ORDER BY l.id DESC LIMIT $7"
            ),
            &[&tenant.as_uuid(), &f.currency, &f.customer_tier, &f.active, &f.valid_at, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(price_list).collect())
}

/// Every price on a list as (product, platform SKU, break), by SKU and quantity.
pub async fn prices(tx: &Transaction<'_>, list: Uuid) -> Result<Vec<(Uuid, String, Break)>, Error> {
    Ok(tx
        .query(
            "SELECT x.product_id, p.sku, x.min_quantity::bigint, x.unit_price_minor
               FROM price_list_prices x JOIN products p ON p.id = x.product_id
              WHERE x.price_list_id = $1 ORDER BY p.sku, x.min_quantity",
            &[&list],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), Break { min_quantity: r.get(2), unit_price: r.get(3) }))
        .collect())
}

pub async fn insert(
    tx: &Transaction<'_>,
    by: Writer,
    id: Uuid,
    currency: &str,
    f: &ListFields,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO price_lists (id, tenant_id, name, currency, customer_tier, mode, priority, valid_from, valid_until,
                                  active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        &[
            &id,
            &by.tenant.as_uuid(),
            &f.name,
            &currency,
            &f.customer_tier,
            &f.mode,
            &f.priority,
            &f.valid_from,
            &f.valid_until,
            &f.active,
            &by.now,
        ],
    )
    .await?;
    Ok(())
}

pub async fn update(tx: &Transaction<'_>, id: Uuid, f: &ListFields, now: DateTime<Utc>) -> Result<(), Error> {
    tx.execute(
        "UPDATE price_lists SET name = $2, customer_tier = $3, mode = $4, priority = $5, valid_from = $6,
                valid_until = $7, active = $8, updated_at = $9 WHERE id = $1",
        &[
            &id,
            &f.name,
            &f.customer_tier,
            &f.mode,
            &f.priority,
            &f.valid_from,
            &f.valid_until,
            &f.active,
            &now,
        ],
    )
    .await?;
    Ok(())
}

/// Replaces a product's breaks on a list; returns the breaks it had as (min quantity, price).
pub async fn replace_prices(
    tx: &Transaction<'_>,
    tenant: TenantId,
    list: Uuid,
    product: Uuid,
    breaks: &[Break],
) -> Result<Vec<(i64, i64)>, Error> {
    let before: Vec<(i64, i64)> = tx
        .query(
            "DELETE FROM price_list_prices WHERE price_list_id = $1 AND product_id = $2
             RETURNING min_quantity::bigint, unit_price_minor",
            &[&list, &product],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mins: Vec<i32> = breaks.iter().map(|b| b.min_quantity as i32).collect();
    let prices: Vec<i64> = breaks.iter().map(|b| b.unit_price).collect();
    tx.execute(
        "INSERT INTO price_list_prices (tenant_id, price_list_id, product_id, min_quantity, unit_price_minor)
         SELECT $1, $2, $3, m, p FROM unnest($4::int[], $5::bigint[]) AS t(m, p)",
        &[&tenant.as_uuid(), &list, &product, &mins, &prices],
    )
    .await?;
    Ok(before)
}

/// Takes the product with this platform SKU off a list; how many price rows went.
pub async fn remove_prices(tx: &Transaction<'_>, list: Uuid, sku: &str) -> Result<u64, Error> {
    Ok(tx
        .execute(
            "DELETE FROM price_list_prices x USING products p
              WHERE x.price_list_id = $1 AND p.id = x.product_id AND lower(p.sku) = lower($2)",
            &[&list, &sku],
        )
        .await?)
}

pub async fn touch(tx: &Transaction<'_>, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    tx.execute("UPDATE price_lists SET updated_at = $2 WHERE id = $1", &[&id, &now]).await?;
    Ok(())
}
