//! Settlement reconciliation (`payments-settlement`, daily): each enabled merchant
//! account's settled transactions are matched against our captures and refunds. Every mismatch
//! becomes an exception for review (one per transaction and kind, never twice):
//! - `extra`: the gateway settled a transaction none of our payments or attempts names;
//! - `amount_differs`: it settled a different captured amount than our payment records, or a
//!   refund our books do not show as made;
//! - `unrecorded`: it settled a transaction made for one of our attempts that our books do not
//!   show as approved;
//! - `missing`: our payment says captured, and the gateway holds it neither settled nor waiting
//!   for settlement a day after the capture.
//!
//! Then the partial refunds queued until their capture settled are sent.

use std::collections::HashSet;

use serde::Serialize;

use super::payments::{RefundsReport, send_due_refunds};
use crate::payments::model::{AttemptStatus, Error, GatewayTransaction, MerchantAccount};
use crate::payments::store;
use crate::platform::db::{Db, scoped_tx};
use crate::platform::exceptions::{self, NewException, Severity};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// How far back each run looks (`PAYMENTS_SETTLEMENT_LOOKBACK_DAYS`, default 3): a run that failed
/// or a batch that settled late is caught by the next runs.
fn lookback(state: &AppState) -> chrono::Duration {
    let days = state
        .config()
        .env
        .get("PAYMENTS_SETTLEMENT_LOOKBACK_DAYS")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|d| (1..=60).contains(d))
        .unwrap_or(3);
    chrono::Duration::days(days)
}

/// What one run found.
#[derive(Debug, Default, Serialize)]
pub struct SettlementReport {
    pub accounts: u32,
    /// Settled transactions looked at.
    pub settled: u32,
    pub matched: u32,
    /// Mismatches found (each an exception, opened once).
    pub mismatches: Vec<Mismatch>,
    /// Accounts whose gateway could not be asked (tried again next run).
    pub unreachable: Vec<String>,
    pub refunds: RefundsReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    pub kind: &'static str,
    pub gateway: String,
    pub transaction_id: String,
    pub detail: String,
}

pub async fn reconcile_settlements(state: &AppState, ops: &Db) -> Result<SettlementReport, Error> {
    let now = state.clock().now();
    let from = now - lookback(state);
    let accounts: Vec<MerchantAccount> = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        store::accounts(&tx).await?.into_iter().filter(|a| a.enabled).collect()
    };
    let mut report = SettlementReport::default();
    for account in accounts {
        report.accounts += 1;
        // A misconfigured account is reported and skipped: the others are still reconciled.
        let client = match super::gateway(state, &account).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(alarm = "gateway_configuration_rejected", account = %account.name, error = %e,
                    "a merchant account's client could not be made; its settlements were not read");
                report.unreachable.push(account.name.clone());
                continue;
            }
        };
        let (settled, unsettled) = match (client.settled(from, now).await, client.unsettled().await) {
            (Ok(s), Ok(u)) => (s, u),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(account = %account.name, error = %e, "settled batches could not be read; next run");
                report.unreachable.push(account.name.clone());
                continue;
            }
        };
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        for t in &settled {
            report.settled += 1;
            match judge(&tx, &account, t).await? {
                None => report.matched += 1,
                Some((tenant, m)) => {
                    raise(&tx, tenant, &m, now).await?;
                    report.mismatches.push(m);
                }
            }
        }
        // Ours, captured over a day ago, that the gateway holds neither settled nor pending.
        let known: HashSet<&str> = settled.iter().chain(&unsettled).map(|t| t.id.as_str()).collect();
        for (tenant, p) in
            store::captured_at_account(&tx, account.id, from, now - chrono::Duration::days(1)).await?
        {
            let Some(txn) = p.transaction_id.as_deref() else { continue };
            if known.contains(txn) {
                continue;
            }
            let m = Mismatch {
                kind: "missing",
                gateway: account.gateway.to_string(),
                transaction_id: txn.to_owned(),
                detail: format!(
                    "payment {} says {} captured; {} holds no such transaction settled or pending",
                    p.id, p.captured, account.gateway
                ),
            };
            raise(&tx, Some(TenantId::from_uuid(tenant)), &m, now).await?;
            report.mismatches.push(m);
        }
        tx.commit().await?;
    }
    report.refunds = send_due_refunds(state, ops).await?;
    Ok(report)
}

/// Does a settled transaction match our books? `None` when it does; the mismatch (and the tenant
/// it belongs to, when known) otherwise.
async fn judge(
    tx: &tokio_postgres::Transaction<'_>,
    account: &MerchantAccount,
    t: &GatewayTransaction,
) -> Result<Option<(Option<TenantId>, Mismatch)>, Error> {
    let mismatch = |kind: &'static str, detail: String| Mismatch {
        kind,
        gateway: account.gateway.to_string(),
        transaction_id: t.id.clone(),
        detail,
    };
    if let Some((tenant, p)) = store::payment_by_transaction(tx, account.id, &t.id).await? {
        if t.captured != p.captured {
            let detail = format!(
                "{} settled {} captured on transaction {}; payment {} records {}",
                account.gateway, t.captured, t.id, p.id, p.captured
            );
            return Ok(Some((Some(TenantId::from_uuid(tenant)), mismatch("amount_differs", detail))));
        }
        return Ok(None);
    }
    // A refund (or another operation) has a transaction of its own, found by our reference.
    if let Some(reference) = &t.reference {
        if let Some((tenant, a)) = store::attempt_by_reference(tx, reference).await? {
            if a.status == AttemptStatus::Approved {
                return Ok(None);
            }
            let detail = format!(
                "{} settled transaction {} for our {} attempt {}, which our books show as {:?}",
                account.gateway,
                t.id,
                a.operation.as_str(),
                a.reference,
                a.status
            );
            return Ok(Some((Some(TenantId::from_uuid(tenant)), mismatch("unrecorded", detail))));
        }
    }
    let detail = format!(
        "{} settled transaction {} ({} captured, {} refunded, reference {}) that none of our payments names",
        account.gateway,
        t.id,
        t.captured,
        t.refunded,
        t.reference.as_deref().unwrap_or("none")
    );
    Ok(Some((None, mismatch("extra", detail))))
}

async fn raise(
    tx: &tokio_postgres::Transaction<'_>,
    tenant: Option<TenantId>,
    m: &Mismatch,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let ex = NewException::new("settlement_mismatch", "payments-settlement", Severity::Error, &m.detail)
        .tenant(tenant)
        .subject(format!("settlement/{}/{}/{}", m.gateway, m.transaction_id, m.kind))
        .details(serde_json::to_value(m).unwrap_or_default());
    exceptions::open(tx, &ex, now).await?;
    Ok(())
}
