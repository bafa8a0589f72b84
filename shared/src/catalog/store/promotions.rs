//! The SQL of promotions and their redemptions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::catalog::model::{Error, Promo, Promotion, Redemption, Terms, Writer};
use crate::platform::error::unique_violation;
use crate::platform::tenant::TenantId;

const SELECT: &str =
    "SELECT p.id, p.code, p.description, p.discount_type, p.percent_bp, p.amount_minor, p.currency,
        p.applies_to, ARRAY(SELECT x.sku FROM products x WHERE x.id = ANY(p.product_ids) ORDER BY x.sku),
        p.min_order_minor, p.starts_at, p.ends_at, p.usage_limit, p.per_customer_limit, p.stackable, p.active,
        p.redemption_count, p.created_at, p.updated_at
   FROM promotions p";

fn promotion(r: &Row) -> Promotion {
    Promotion {
        id: r.get(0),
        code: r.get(1),
        description: r.get(2),
        discount_type: r.get(3),
        percent_bp: r.get(4),
        amount: r.get(5),
        currency: r.get(6),
        applies_to: r.get(7),
        platform_skus: r.get(8),
        min_order: r.get(9),
        starts_at: r.get(10),
        ends_at: r.get(11),
        usage_limit: r.get(12),
        per_customer_limit: r.get(13),
        stackable: r.get(14),
        active: r.get(15),
        redemption_count: r.get(16),
        created_at: r.get(17),
        updated_at: r.get(18),
    }
}

/// One promotion of the tenant the transaction is scoped to, locked for update when `lock`.
pub async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Promotion, Error> {
    let lock = if lock { " FOR UPDATE OF p" } else { "" };
    tx.query_opt(&format!("{SELECT} WHERE p.id = $1{lock}"), &[&id])
        .await?
        .map(|r| promotion(&r))
        .ok_or_else(|| Error::NotFound(format!("promotion {id}")))
}

/// The filters of a promotion listing (`like`: a contains-pattern of the code).
#[derive(Debug, Default)]
pub struct Filter {
    pub like: Option<String>,
    pub active: Option<bool>,
    pub valid_at: Option<DateTime<Utc>>,
}

/// One page of the tenant's promotions, newest first (`limit + 1` rows).
pub async fn list(
    tx: &Transaction<'_>,
    tenant: TenantId,
    f: &Filter,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Promotion>, Error> {
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE p.tenant_id = $1 AND ($2::text IS NULL OR p.code ILIKE $2)
                   AND ($3::bool IS NULL OR p.active = $3)
                   AND ($4::timestamptz IS NULL OR ((p.starts_at IS NULL OR p.starts_at <= $4) AND (p.ends_at IS NULL OR p.ends_at > $4)))
                   AND ($5::uuid IS NULL OR p.id < $5)
                 ORDER BY p.id DESC LIMIT $6"
            ),
            &[&tenant.as_uuid(), &f.like, &f.active, &f.valid_at, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(promotion).collect())
}

/// Inserts a promotion; a 409 when the code is taken.
pub async fn insert(
    tx: &Transaction<'_>,
    by: Writer,
    id: Uuid,
    code: &str,
    t: &Terms,
    products: &[Uuid],
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO promotions (id, tenant_id, code, description, discount_type, percent_bp, amount_minor, currency,
                                 applies_to, product_ids, min_order_minor, starts_at, ends_at, usage_limit,
                                 per_customer_limit, stackable, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)",
        &[
            &id,
            &by.tenant.as_uuid(),
            &code,
            &t.description,
            &t.discount_type,
            &t.percent_bp,
            &t.amount,
            &t.currency,
            &t.applies_to,
            &products,
            &t.min_order,
            &t.starts_at,
            &t.ends_at,
            &t.usage_limit,
            &t.per_customer_limit,
            &t.stackable,
            &t.active,
            &by.now,
        ],
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => Error::Conflict { code: "code_taken", detail: format!("a promotion has the code {code:?}") },
        None => e.into(),
    })?;
    Ok(())
}

/// The products a promotion targets as stored (a product withdrawn since stays targeted).
pub async fn product_ids(tx: &Transaction<'_>, id: Uuid) -> Result<Vec<Uuid>, Error> {
    Ok(tx.query_one("SELECT product_ids FROM promotions WHERE id = $1", &[&id]).await?.get(0))
}

/// Writes a promotion's changeable terms.
pub async fn update(
    tx: &Transaction<'_>,
    id: Uuid,
    t: &Terms,
    products: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE promotions SET description = $2, percent_bp = $3, amount_minor = $4, product_ids = $5,
                min_order_minor = $6, starts_at = $7, ends_at = $8, usage_limit = $9, per_customer_limit = $10,
                stackable = $11, active = $12, updated_at = $13
          WHERE id = $1",
        &[
            &id,
            &t.description,
            &t.percent_bp,
            &t.amount,
            &products,
            &t.min_order,
            &t.starts_at,
            &t.ends_at,
            &t.usage_limit,
            &t.per_customer_limit,
            &t.stackable,
            &t.active,
            &now,
        ],
    )
    .await?;
    Ok(())
}

/// The tenant's promotions with these codes (lowercased), by lowercased code, as evaluation
/// reads them.
pub async fn by_codes(
    tx: &Transaction<'_>,
    tenant: TenantId,
    lowered: &[String],
) -> Result<HashMap<String, Promo>, Error> {
    Ok(tx
        .query(
            "SELECT id, code, discount_type, percent_bp, amount_minor, currency, applies_to, product_ids,
                    min_order_minor, starts_at, ends_at, usage_limit, per_customer_limit, stackable, active,
                    redemption_count
               FROM promotions WHERE tenant_id = $1 AND lower(code) = ANY($2)",
            &[&tenant.as_uuid(), &lowered],
        )
        .await?
        .iter()
        .map(|r| {
            let p = Promo {
                id: r.get(0),
                code: r.get(1),
                discount_type: r.get(2),
                percent_bp: r.get(3),
                amount: r.get(4),
                currency: r.get(5),
                applies_to: r.get(6),
                product_ids: r.get(7),
                min_order: r.get(8),
                starts_at: r.get(9),
                ends_at: r.get(10),
                usage_limit: r.get(11),
                per_customer_limit: r.get(12),
                stackable: r.get(13),
                active: r.get(14),
                redemptions: r.get(15),
            };
            (p.code.to_lowercase(), p)
        })
        .collect())
}

/// How often `customer` redeemed each of `promotions`.
pub async fn customer_uses(
    tx: &Transaction<'_>,
    tenant: TenantId,
    promotions: &[Uuid],
    customer: &str,
) -> Result<HashMap<Uuid, i64>, Error> {
    Ok(tx
        .query(
            "SELECT promotion_id, count(*) FROM promotion_redemptions
              WHERE tenant_id = $1 AND promotion_id = ANY($2) AND customer_key = $3 AND released_at IS NULL
              GROUP BY promotion_id",
            &[&tenant.as_uuid(), &promotions, &customer],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// One redemption at a time per order (whatever codes a retry names), then the promotions with
/// these codes (in one order, so concurrent redemptions cannot deadlock).
pub async fn lock_for_redemption(
    tx: &Transaction<'_>,
    tenant: TenantId,
    order_ref: &str,
    lowered: &[String],
) -> Result<(), Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('promotion-order:' || $1::text || ':' || $2, 0))",
        &[&tenant.to_string(), &order_ref],
    )
    .await?;
    tx.execute(
        "SELECT 1 FROM promotions WHERE tenant_id = $1 AND lower(code) = ANY($2) ORDER BY id FOR UPDATE",
        &[&tenant.as_uuid(), &lowered],
    )
    .await?;
    Ok(())
}

const REDEMPTION: &str =
    "SELECT r.id, r.promotion_id, p.code, r.order_ref, r.customer_key, r.discount_minor, r.currency,
        r.redeemed_at, r.released_at
   FROM promotion_redemptions r JOIN promotions p ON p.id = r.promotion_id";

fn redemption(r: &Row) -> Redemption {
    Redemption {
        id: r.get(0),
        promotion_id: r.get(1),
        code: r.get(2),
        order_ref: r.get(3),
        customer_key: r.get(4),
        discount: r.get(5),
        currency: r.get(6),
        redeemed_at: r.get(7),
        released_at: r.get(8),
    }
}

/// The redemptions an order made, oldest first.
pub async fn order_redemptions(
    tx: &Transaction<'_>,
    tenant: TenantId,
    order_ref: &str,
) -> Result<Vec<Redemption>, Error> {
    Ok(tx
        .query(
            &format!(
                "{REDEMPTION} WHERE r.tenant_id = $1 AND r.order_ref = $2 AND r.released_at IS NULL ORDER BY r.id"
            ),
            &[&tenant.as_uuid(), &order_ref],
        )
        .await?
        .iter()
        .map(redemption)
        .collect())
}

/// One redemption as recorded.
#[derive(Debug, Clone, Copy)]
pub struct NewRedemption<'a> {
    pub promotion: Uuid,
    pub order_ref: &'a str,
    pub customer: Option<&'a str>,
    pub discount: i64,
    pub currency: &'a str,
}

/// Records a redemption and counts it on its promotion; returns it as read back.
pub async fn redeem(tx: &Transaction<'_>, by: Writer, r: NewRedemption<'_>) -> Result<Redemption, Error> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO promotion_redemptions (id, tenant_id, promotion_id, order_ref, customer_key, discount_minor,
                                            currency, redeemed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&id, &by.tenant.as_uuid(), &r.promotion, &r.order_ref, &r.customer, &r.discount, &r.currency, &by.now],
    )
    .await?;
    // Counted only while a use is left (two orders taking the last one at once: one is refused).
    let counted = tx
        .execute(
            "UPDATE promotions SET redemption_count = redemption_count + 1
              WHERE id = $1 AND (usage_limit IS NULL OR redemption_count < usage_limit)",
            &[&r.promotion],
        )
        .await?;
    if counted == 0 {
        return Err(Error::Conflict {
            code: "usage_limit_reached",
            detail: "the promotion's last use was just taken by another order".into(),
        });
    }
    Ok(redemption(&tx.query_one(&format!("{REDEMPTION} WHERE r.id = $1"), &[&id]).await?))
}

/// One page of a promotion's redemptions, newest first (`limit + 1` rows).
pub async fn redemptions(
    tx: &Transaction<'_>,
    promotion: Uuid,
    order_ref: Option<&str>,
    customer: Option<&str>,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Redemption>, Error> {
    let rows = tx
        .query(
            &format!(
                "{REDEMPTION} WHERE r.promotion_id = $1 AND ($2::text IS NULL OR r.order_ref = $2)
                   AND ($3::text IS NULL OR r.customer_key = $3) AND ($4::uuid IS NULL OR r.id < $4)
                 ORDER BY r.id DESC LIMIT $5"
            ),
            &[&promotion, &order_ref, &customer, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(redemption).collect())
}

/// Gives back the uses `order_ref` still holds (its order was cancelled): each redemption marked
/// released, its promotion's count lowered. Returns what was released; nothing the second time.
pub async fn release(
    tx: &Transaction<'_>,
    tenant: TenantId,
    order_ref: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Redemption>, Error> {
    let ids: Vec<Uuid> = tx
        .query(
            "UPDATE promotion_redemptions SET released_at = $3
              WHERE tenant_id = $1 AND order_ref = $2 AND released_at IS NULL RETURNING id",
            &[&tenant.as_uuid(), &order_ref, &now],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let released: Vec<Redemption> = tx
        .query(&format!("{REDEMPTION} WHERE r.id = ANY($1) ORDER BY r.promotion_id"), &[&ids])
        .await?
        .iter()
        .map(redemption)
        .collect();
    for r in &released {
        tx.execute(
            "UPDATE promotions SET redemption_count = greatest(redemption_count - 1, 0) WHERE id = $1",
            &[&r.promotion_id],
        )
        .await?;
    }
    Ok(released)
}
