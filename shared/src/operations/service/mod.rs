//! The stuck-order sweep (here) and dead letters ([`dlq`]).
//!
//! The sweep. Each exception is opened in its own statement: the unique index on open
//! (kind, subject) makes two sweeps at once — two processes — raise it once.

pub mod dlq;

use crate::operations::model::{Error, SweepReport};
use crate::platform::db::{Db, scoped_tx};
use crate::platform::exceptions::{self, NewException, Severity};
use crate::platform::state::AppState;

/// Finds every order past its state's limit and every level that differs from its ledger; raises
/// one exception for each that has none open.
pub async fn sweep(state: &AppState, ops: &Db) -> Result<SweepReport, Error> {
    let now = state.clock().now();
    let mut report = SweepReport::default();
    let stuck = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        crate::orders::stuck_orders(&tx, now).await?
    };
    let mut conn = ops.conn().await?;
    let mut emails = Vec::new();
    for s in &stuck {
        report.stuck += 1;
        let minutes = (now - s.since).num_minutes();
        let ex = NewException::new(
            crate::orders::STUCK,
            "operations-sweep",
            Severity::Warning,
            format!("order {} has been {} for {minutes} minutes (limit {})", s.number, s.status.as_str(), s.limit_minutes),
        )
        .tenant(Some(s.tenant))
        .order(s.order_id)
        .subject(s.subject())
        .details(serde_json::json!({"status": s.status, "since": s.since, "minutes": minutes, "limit_minutes": s.limit_minutes}));
        // Raised and told in one transaction: the email goes out once, with the exception.
        let tx = scoped_tx(&mut conn, Some(s.tenant), None).await?;
        let Some(id) = exceptions::open(&*tx, &ex, now).await? else { continue };
        report.raised += 1;
        tracing::warn!(order = %s.order_id, status = s.status.as_str(), minutes, "a stuck order");
        let subject = format!("Order {} is stuck in {}", s.number, s.status.as_str());
        let text = format!(
            "Order {} has been {} for {minutes} minutes (the limit is {}).\n\nSee GET /api/v1/admin/exceptions/{id}.\n",
            s.number,
            s.status.as_str(),
            s.limit_minutes
        );
        let told =
            crate::identity::notify_operations(&tx, state.clock().as_ref(), s.tenant, &subject, &text).await;
        emails.extend(told.map_err(|e| Error::Events(e.to_string()))?);
        tx.commit().await?;
    }
    drop(conn);
    if let Err(e) = crate::platform::events::publish_committed(state, &emails).await {
        tracing::warn!(error = %e, "stuck-order emails left to the relay");
    }
    let mismatches = crate::inventory::ledger_mismatches(ops).await?;
    let conn = ops.conn().await?;
    for (warehouse, sku, what) in &mismatches {
        report.ledger_mismatches += 1;
        let ex = NewException::new(
            "ledger_discrepancy",
            "operations-sweep",
            Severity::Error,
            format!("the stock level of {sku} at warehouse {warehouse} differs from its ledger: {what}"),
        )
        .subject(format!("level/{warehouse}/{sku}"))
        .details(serde_json::json!({"warehouse_id": warehouse, "platform_sku": sku, "difference": what}));
        if exceptions::open(&**conn, &ex, now).await?.is_some() {
            report.ledger_raised += 1;
            tracing::error!(%warehouse, sku, what, "a stock level differs from its ledger");
        }
    }
    Ok(report)
}
