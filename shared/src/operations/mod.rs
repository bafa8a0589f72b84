//! The operations context: what keeps the pipeline moving when nothing else does. The stuck-order
//! sweep (`operations-sweep`, scheduled) finds every order that has stayed in a state longer than
//! the state allows and raises one `stuck_order` exception per order and state, telling the tenant's
//! operations contacts once (an email naming the exception); it resolves itself
//! when the order moves on: the orders context's transition does that), and checks that the
//! inventory levels still equal their ledger (a `ledger_discrepancy` exception per level that does
//! not).
//!
//! Dead letters: `GET /api/v1/admin/dlq` shows each queue-fed function's dead-letter queue (depth,
//! the oldest message's age, messages peeked with their envelopes parsed); replay sends messages
//! back to their source queue, purge drops one with a reason; both audited.
//!
//! Shape: `model` (the sweep's report, dead letters), `service` (the sweep, `dlq`), `api`. Other contexts are reached through
//! their `mod.rs` only; exceptions through the platform's one open/resolve.

pub mod api;
mod model;
mod service;

pub use model::{
    DeadLetter, DeadLetterQueue, Error, PurgeRequest, Purged, ReplayRequest, Replayed, SweepReport,
};
pub use service::sweep;

/// The `operations-sweep` function.
pub async fn sweep_task(
    state: &crate::platform::state::AppState,
) -> Result<serde_json::Value, crate::platform::error::TaskError> {
    use crate::platform::error::TaskError;
    let ops = state.ops_db().await?;
    let report = sweep(state, ops).await.map_err(|e| TaskError::Other(e.to_string()))?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}
