//! The `payment-authorize` consumer: the payment step of the order pipeline, fed by its queue
//! (rule on `order.accepted`). See [`super::service::step`] for what it does with each order.

use crate::orders::{OrderEvent, OrderStatus};
use crate::payments::service::payments::Ctx;
use crate::payments::service::step::{Step, pay_order};
use crate::platform::audit::Actor;
use crate::platform::consumer::Delivery;
use crate::platform::error::Cause;
use crate::platform::state::AppState;

pub async fn on_order_accepted(state: &AppState, delivery: Delivery<OrderEvent>) -> Result<(), Cause> {
    let Some(tenant) = delivery.envelope.tenant_id else { return Ok(()) };
    let order_id = delivery.envelope.data.order_id;
    let db = state.db().await?;
    let caller = crate::platform::http::Caller::default();
    let ctx = Ctx { state, db, tenant, actor: Actor::system(&caller) };
    // One charge per event: a duplicate or late delivery finds the payment this key made.
    let key = format!("order-accepted:{}", delivery.envelope.id);
    let step = pay_order(&ctx, order_id, OrderStatus::Accepted, &key, None).await?;
    match &step {
        Step::LeftAlone(status) => {
            tracing::info!(order_id = %order_id, status = %status, "not waiting for its payment; left alone")
        }
        Step::NoGatewayCall => tracing::info!(order_id = %order_id, "authorized without a gateway call"),
        Step::Charged(a) => {
            tracing::info!(order_id = %order_id, payment = %a.payment.id, status = %a.payment.status, "payment step done")
        }
        Step::Declined(e) => tracing::info!(order_id = %order_id, error = %e, "payment declined"),
        Step::Failed(why) => tracing::warn!(order_id = %order_id, why = %why, "payment failed"),
    }
    Ok(())
}

/// `payment-release` (rule on `order.cancelled`): a cancelled order's authorization voided, its
/// capture refunded. A failure leaves a `cancellation_incomplete` exception and is retried.
pub async fn on_order_cancelled(state: &AppState, delivery: Delivery<OrderEvent>) -> Result<(), Cause> {
    let Some(tenant) = delivery.envelope.tenant_id else { return Ok(()) };
    let order_id = delivery.envelope.data.order_id;
    let db = state.db().await?;
    let caller = crate::platform::http::Caller::default();
    let ctx = Ctx { state, db, tenant, actor: Actor::system(&caller) };
    match crate::payments::service::cancel::release_cancelled(&ctx, order_id).await? {
        Some(what) => tracing::info!(order_id = %order_id, what, "cancelled order's payment given back"),
        None => tracing::info!(order_id = %order_id, "no payment to give back"),
    }
    Ok(())
}
