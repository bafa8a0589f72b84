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
