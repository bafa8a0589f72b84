//! Customer approvals in Postgres (the product's SKU comes from the catalog's API).

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::orders::model::Approval;
use crate::platform::tenant::TenantId;

const SELECT: &str = "SELECT a.id, a.customer_key, a.product_id, a.reference, a.approved_at, a.expires_at,
        a.revoked_at, a.created_at
   FROM customer_approvals a";

fn approval(r: &Row) -> Approval {
    Approval {
        id: r.get(0),
        customer_email: r.get(1),
        product_id: r.get(2),
        platform_sku: String::new(),
        reference: r.get(3),
        approved_at: r.get(4),
        expires_at: r.get(5),
        revoked_at: r.get(6),
        created_at: r.get(7),
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &Transaction<'_>,
    tenant: TenantId,
    id: Uuid,
    customer_key: &str,
    product: Uuid,
    reference: Option<&str>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO customer_approvals (id, tenant_id, customer_key, product_id, reference, approved_at, expires_at,
                                         created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[&id, &tenant.as_uuid(), &customer_key, &product, &reference, &from, &until, &by, &now],
    )
    .await?;
    Ok(())
}

pub async fn get(tx: &Transaction<'_>, id: Uuid) -> Result<Option<Approval>, tokio_postgres::Error> {
    Ok(tx.query_opt(&format!("{SELECT} WHERE a.id = $1"), &[&id]).await?.map(|r| approval(&r)))
}

/// One page (`limit + 1` rows, newest first) of the tenant's approvals.
pub async fn list(
    tx: &Transaction<'_>,
    tenant: TenantId,
    customer_key: Option<&str>,
    product: Option<Uuid>,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<Approval>, tokio_postgres::Error> {
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE a.tenant_id = $1 AND ($2::text IS NULL OR a.customer_key = $2)
                   AND ($3::uuid IS NULL OR a.product_id = $3) AND ($4::uuid IS NULL OR a.id < $4)
                 ORDER BY a.id DESC LIMIT $5"
            ),
            &[&tenant.as_uuid(), &customer_key, &product, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(approval).collect())
}

/// Whether `customer` has an approval for `product` in force at `at`.
pub async fn approved(
    tx: &Transaction<'_>,
    tenant: TenantId,
    customer: &str,
    product: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM customer_approvals WHERE tenant_id = $1 AND customer_key = $2 AND product_id = $3
                AND revoked_at IS NULL AND approved_at <= $4 AND expires_at > $4",
            &[&tenant.as_uuid(), &customer, &product, &at],
        )
        .await?
        .is_some())
}
