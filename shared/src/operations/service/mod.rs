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
    report.alerts_raised = platform_alerts(state, ops).await?;
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

/// How often one platform alert is told at most.
const ALERT_PERIOD: chrono::Duration = chrono::Duration::hours(1);

/// One condition the platform is told about while it lasts.
struct Alert {
    kind: &'static str,
    subject: String,
    text: String,
    present: bool,
}

/// The platform's own alerts: each dead-letter queue holding messages (`dead_letters_waiting`) and
/// each merchant account's open breaker (`breaker_open`) raises one platform-level exception and
/// tells the platform's operations contacts once, with the link; it resolves itself when the
/// queue is empty or the breaker has closed. What cannot be read is logged and looked at next time.
async fn platform_alerts(state: &AppState, ops: &Db) -> Result<u32, Error> {
    let now = state.clock().now();
    let mut alerts = Vec::new();
    match dlq::overview(state, None, 0).await {
        Ok(queues) => alerts.extend(queues.into_iter().map(|q| Alert {
            kind: "dead_letters_waiting",
            subject: format!("dlq/{}", q.queue),
            text: format!("{} message(s) wait in the dead-letter queue of {}", q.depth, q.queue),
            present: q.depth > 0,
        })),
        Err(e) => tracing::warn!(error = %e, "the dead-letter queues could not be read"),
    }
    match crate::payments::breakers(state, ops).await {
        Ok(breakers) => alerts.extend(breakers.into_iter().filter(|b| b.breaker.state != "unreadable").map(|b| {
            Alert {
                kind: "breaker_open",
                subject: format!("breaker/{}", b.merchant_account_id),
                text: format!(
                    "the circuit breaker of {} ({}) is {}: its calls are refused until it lets a probe through",
                    b.merchant_account, b.gateway, b.breaker.state
                ),
                present: b.breaker.state == "open",
            }
        })),
        Err(e) => tracing::warn!(error = %e, "the breakers could not be read"),
    }
    let mut raised = 0;
    let mut emails = Vec::new();
    let mut conn = ops.conn().await?;
    let platform = {
        let tx = scoped_tx(&mut conn, None, None).await?;
        crate::identity::platform_tenants(&tx).await?.first().copied()
    };
    for a in alerts {
        let tx = scoped_tx(&mut conn, platform, None).await?;
        if !a.present {
            exceptions::resolve_subject(&*tx, a.kind, &a.subject, "cleared", now).await?;
            tx.commit().await?;
            continue;
        }
        let ex = NewException::new(a.kind, "operations-sweep", Severity::Critical, &a.text)
            .tenant(platform)
            .subject(&a.subject);
        // Told once per period: a condition that cleared and came back within the hour is raised
        // again but not told again.
        let told_lately = exceptions::resolved_since(&*tx, a.kind, &a.subject, now - ALERT_PERIOD).await?;
        let Some(id) = exceptions::open(&*tx, &ex, now).await? else { continue };
        raised += 1;
        tracing::error!(kind = a.kind, subject = a.subject, "platform alert raised");
        if told_lately {
            tx.commit().await?;
            continue;
        }
        let text =
            format!("{}.\n\nSee GET /api/v1/admin/exceptions/{id} and GET /api/v1/admin/dlq.\n", a.text);
        if let Some(platform) = platform {
            let told =
                crate::identity::notify_operations(&tx, state.clock().as_ref(), platform, &a.text, &text)
                    .await;
            emails.extend(told.map_err(|e| Error::Events(e.to_string()))?);
        }
        tx.commit().await?;
    }
    drop(conn);
    if let Err(e) = crate::platform::events::publish_committed(state, &emails).await {
        tracing::warn!(error = %e, "platform alert emails left to the relay");
    }
    Ok(raised)
}
