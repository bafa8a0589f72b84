//! Payments: the two card gateways behind one seam.
//!
//! - [`Gateway`] is what a payment gateway is to everything else; [`Nmi`] and [`AuthorizeNet`]
//!   are its only implementations, each in its own folder (the call and its outcome classes in
//!   `mod.rs`, the wire formats in `wire.rs`). They are stateless: they build requests, read
//!   answers and class every call into exactly one [`Outcome`] — approved, declined, certainly
//!   not processed, or unknown (resolved only by asking the same gateway).
//! - Money is integer minor units ([`Money`]); [`decimal`] is the one conversion to the
//!   providers' decimal strings.
//! - Card data cannot enter: a [`PaymentSource`] is a gateway token or a vault credential.

pub mod api;
pub mod authorize_net;
pub mod consumers;
mod model;
pub mod nmi;
mod service;
mod store;

pub use authorize_net::AuthorizeNet;
pub use model::{
    AccountSet, Approval, Billing, Endpoint, Error, Gateway, GatewayKind, GatewayTransaction, MAX_AMOUNT,
    MerchantAccount, Money, OneTimeToken, Operation, Outcome, PaymentSource, Request, TenantAccounts,
    TransactionStatus, Unavailable, VaultCredential, VaultCustomer, decimal, minor_units, transport_outcome,
};
pub use nmi::Nmi;
pub use service::payments::{EVENT_VERSION, PaymentEvent, breaker_key, breakers};
pub use service::{account, endpoint, for_tenant, gateway};

/// The `payments-reconcile-pending` function: asks the gateways about every attempt whose outcome
/// is not known and older than the threshold.
pub async fn reconcile_pending_task(
    state: &crate::platform::state::AppState,
) -> Result<serde_json::Value, crate::platform::error::TaskError> {
    use crate::platform::error::TaskError;
    let ops = state.ops_db().await?;
    let report = service::payments::reconcile_pending(state, ops)
        .await
        .map_err(|e| TaskError::Other(e.to_string()))?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}

/// The `payments-refunds-due` function: sends queued partial refunds whose capture settled; the
/// run is audited as one platform entry when it sent anything.
pub async fn refunds_due_task(
    state: &crate::platform::state::AppState,
) -> Result<serde_json::Value, crate::platform::error::TaskError> {
    use crate::platform::error::TaskError;
    let ops = state.ops_db().await?;
    let report =
        service::payments::send_due_refunds(state, ops).await.map_err(|e| TaskError::Other(e.to_string()))?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}

/// The `payments-settlement` function (daily): each gateway's settled transactions
/// matched against our captures and refunds (every mismatch an exception), then the queued partial
/// refunds whose capture settled are sent.
pub async fn settlement_task(
    state: &crate::platform::state::AppState,
) -> Result<serde_json::Value, crate::platform::error::TaskError> {
    use crate::platform::error::TaskError;
    let ops = state.ops_db().await?;
    let report = service::settlement::reconcile_settlements(state, ops)
        .await
        .map_err(|e| TaskError::Other(e.to_string()))?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}

/// The `payments-reauthorize` function (daily): authorizations about to expire before their
/// capture are renewed on the stored payment method, or raised as exceptions.
pub async fn reauthorize_task(
    state: &crate::platform::state::AppState,
) -> Result<serde_json::Value, crate::platform::error::TaskError> {
    use crate::platform::error::TaskError;
    let ops = state.ops_db().await?;
    let report = service::reauthorize::reauthorize_expiring(state, ops)
        .await
        .map_err(|e| TaskError::Other(e.to_string()))?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}

pub use service::shipments::{Released, Shipment, ShipmentCharge};

/// Captures follow shipments (fulfillment calls this as each shipment leaves): charges exactly what
/// shipped, as the tenant's `payments.capture` setting says. A repeated call for the same shipment
/// changes nothing.
pub async fn charge_shipment(
    state: &crate::platform::state::AppState,
    tenant: crate::platform::tenant::TenantId,
    order_id: uuid::Uuid,
    shipment: &Shipment,
) -> Result<ShipmentCharge, Error> {
    let db = state.db().await?;
    let caller = crate::platform::http::Caller::default();
    let ctx =
        service::payments::Ctx { state, db, tenant, actor: crate::platform::audit::Actor::system(&caller) };
    service::shipments::charge_shipment(&ctx, order_id, shipment).await
}

/// Ends an order's shipping (fulfillment calls this when nothing more will ship): whatever did not
/// ship is released — an untouched authorization voided, a whole capture's excess refunded.
pub async fn release_unshipped(
    state: &crate::platform::state::AppState,
    tenant: crate::platform::tenant::TenantId,
    order_id: uuid::Uuid,
) -> Result<Released, Error> {
    let db = state.db().await?;
    let caller = crate::platform::http::Caller::default();
    let ctx =
        service::payments::Ctx { state, db, tenant, actor: crate::platform::audit::Actor::system(&caller) };
    service::shipments::release_unshipped(&ctx, order_id).await
}
