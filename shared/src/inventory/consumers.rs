//! The inventory queue steps. `inventory-reserve`: the reservation step, fed by its queue (rule on
//! `order.payment_authorized`). A duplicate or late delivery finds the order moved on and changes
//! nothing.

use crate::orders::OrderEvent;
use crate::platform::consumer::Delivery;
use crate::platform::error::Cause;
use crate::platform::state::AppState;

pub async fn on_payment_authorized(state: &AppState, delivery: Delivery<OrderEvent>) -> Result<(), Cause> {
    let Some(tenant) = delivery.envelope.tenant_id else { return Ok(()) };
    let order_id = delivery.envelope.data.order_id;
    let ops = state.ops_db().await?;
    match super::reserve_order(state, ops, tenant, order_id).await? {
        Some(r) => {
            tracing::info!(order_id = %order_id, status = %r.status, short = r.short.len(), "stock step done")
        }
        // Re-driven while backordered (an operator's retry): fill it from what is there now.
        None if delivery.envelope.data.status == crate::orders::OrderStatus::Backordered => {
            let filled = super::fill_order(state, ops, tenant, order_id).await?;
            tracing::info!(order_id = %order_id, filled = filled.contains(&order_id), "backorder looked at again")
        }
        None => tracing::info!(order_id = %order_id, "not waiting for stock; left alone"),
    }
    Ok(())
}

/// `inventory-release` (rule on `order.cancelled`): the order's stock goes back. Repeating it
/// changes nothing.
pub async fn on_order_cancelled(state: &AppState, delivery: Delivery<OrderEvent>) -> Result<(), Cause> {
    let Some(tenant) = delivery.envelope.tenant_id else { return Ok(()) };
    let order_id = delivery.envelope.data.order_id;
    let ops = state.ops_db().await?;
    let released = super::release_order(state, ops, tenant, order_id).await?;
    tracing::info!(order_id = %order_id, released = ?released, "stock released");
    Ok(())
}
