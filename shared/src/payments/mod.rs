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
pub use service::payments::{EVENT_VERSION, PaymentEvent, breaker_key};
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
