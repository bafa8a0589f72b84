//! Registering and finding customer approvals. Intake refuses a gated product for a customer
//! without a valid, unexpired one (`APPROVAL_REQUIRED`).

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::catalog::{approval_gated, customer_key, product_by_sku, product_skus, require_sellable};
use crate::orders::model::{Approval, ApprovalFilter, Error, NewApproval};
use crate::orders::store::approvals as store;
use crate::platform::tenant::TenantId;

/// Fills in each approval's platform SKU (the catalog's).
async fn with_skus(tx: &Transaction<'_>, rows: Vec<Approval>) -> Result<Vec<Approval>, Error> {
    let ids: Vec<Uuid> = rows.iter().map(|a| a.product_id).collect();
    let skus = product_skus(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|mut a| {
            a.platform_sku = skus.get(&a.product_id).cloned().unwrap_or_default();
            a
        })
        .collect())
}

/// Registers that a customer may order an approval-gated product until `expires_at`.
pub async fn register(
    tx: &Transaction<'_>,
    tenant: TenantId,
    by: Uuid,
    req: &NewApproval,
    now: DateTime<Utc>,
) -> Result<Approval, Error> {
    let checked = req.check(now)?;
    let (product, sku) = require_sellable(tx, &req.platform_sku, "platform_sku").await?;
    if approval_gated(tx, product).await? != Some(true) {
        return Err(Error::field("platform_sku", "not_approval_gated", format!("{sku} needs no approval")));
    }
    let id = Uuid::now_v7();
    let (customer, reference) = (&checked.customer, req.reference.as_deref());
    store::insert(tx, tenant, id, customer, product, reference, checked.from, req.expires_at, by, now)
        .await?;
    let made = store::get(tx, id).await?.ok_or_else(|| Error::NotFound(format!("approval {id}")))?;
    Ok(with_skus(tx, vec![made]).await?.remove(0))
}

/// One page of the tenant's approvals, newest first (none for a SKU the catalog does not know).
pub async fn list(
    tx: &Transaction<'_>,
    tenant: TenantId,
    f: &ApprovalFilter,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<Approval>, Error> {
    let email = f.customer_email.as_deref().map(customer_key);
    let product = match f.platform_sku.as_deref() {
        Some(sku) => match product_by_sku(tx, sku).await? {
            Some(p) => Some(p),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    let rows = store::list(tx, tenant, email.as_deref(), product, limit, cursor).await?;
    with_skus(tx, rows).await
}
