//! What the stock step may do to an order (the inventory context calls these): read its demand,
//! locked, and move it on when its stock is decided.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::orders::model::{Error, OrderStatus};
use crate::orders::store::orders as store;
use crate::platform::events::Envelope;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// An order as the stock step reads it.
#[derive(Debug, Clone)]
pub struct StockDemand {
    pub status: OrderStatus,
    pub number: i64,
    /// (platform SKU, units) per line.
    pub lines: Vec<(String, i64)>,
    /// The shipping address's state (allocation ranks warehouses by it).
    pub destination_state: Option<String>,
}

/// The order's demand, its row locked until the caller's transaction ends (two deliveries of one
/// event run one after the other).
pub async fn stock_demand(tx: &Transaction<'_>, id: Uuid) -> Result<StockDemand, Error> {
    let order = store::load(tx, id, true).await?;
    Ok(StockDemand {
        status: order.status,
        number: order.number,
        lines: order
            .lines
            .iter()
            .filter_map(|l| l.platform_sku.clone().map(|s| (s, i64::from(l.quantity))))
            .collect(),
        destination_state: order
            .shipping_address
            .as_ref()
            .and_then(|a| a["state"].as_str())
            .map(str::to_ascii_uppercase),
    })
}

/// Whether the transaction's tenant has order `id` (no lock: a read beside the pipeline).
pub async fn order_exists(tx: &Transaction<'_>, id: Uuid) -> Result<bool, Error> {
    match store::load(tx, id, false).await {
        Ok(_) => Ok(true),
        Err(Error::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Moves an order from `from` to `to` (history and event); the envelope to publish after commit.
#[allow(clippy::too_many_arguments)]
pub async fn advance(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    from: OrderStatus,
    to: OrderStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Envelope, Error> {
    store::transition(tx, state, tenant, id, Some(from), to, reason, ("system", None), now).await
}

/// Records in a cancelled order's history what its cancellation undid (the stock released, the
/// payment voided or refunded), by the system.
pub async fn record_undo(
    tx: &Transaction<'_>,
    tenant: TenantId,
    id: Uuid,
    what: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    store::record_undo(tx, tenant, id, what, ("system", None), now).await
}

/// An order that has not moved for longer than its state allows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stuck {
    pub tenant: TenantId,
    pub order_id: Uuid,
    pub number: i64,
    pub status: OrderStatus,
    /// When it entered the state.
    pub since: DateTime<Utc>,
    pub limit_minutes: i64,
}

impl Stuck {
    /// Its exception: kind, and the subject that makes it one per order and state.
    pub fn subject(&self) -> String {
        crate::orders::model::stuck_subject(self.order_id, self.status)
    }
}

/// Every tenant's orders (the operations role) that have stayed in a state longer than its limit
/// (`OrderStatus::stuck_after`, or the tenant's setting `orders.stuck_after_minutes`), oldest first.
pub async fn stuck_orders(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<Vec<Stuck>, Error> {
    let live: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.stuck_after().is_some()).collect();
    let names: Vec<&str> = live.iter().map(|s| s.as_str()).collect();
    // No tenant may set a limit under 5 minutes: nothing younger can be stuck.
    let rows = store::unmoved(tx, &names, now - chrono::Duration::minutes(5), 1000).await?;
    let mut limits: std::collections::HashMap<Uuid, serde_json::Value> = Default::default();
    let mut out = Vec::new();
    for (tenant, order_id, number, status, since) in rows {
        let Some(status) = OrderStatus::parse(&status) else { continue };
        if let std::collections::hash_map::Entry::Vacant(e) = limits.entry(tenant) {
            let key = "orders.stuck_after_minutes";
            e.insert(
                crate::identity::tenant_setting(tx, TenantId::from_uuid(tenant), key)
                    .await?
                    .unwrap_or_default(),
            );
        }
        let limit = limits[&tenant][status.as_str()].as_i64().or(status.stuck_after()).unwrap_or(i64::MAX);
        if now - since >= chrono::Duration::minutes(limit) {
            out.push(Stuck {
                tenant: TenantId::from_uuid(tenant),
                order_id,
                number,
                status,
                since,
                limit_minutes: limit,
            });
        }
    }
    Ok(out)
}
