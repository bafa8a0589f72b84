//! Authorizations that would expire before their capture (a backordered order waits longer than
//! a card authorization lives) — `payments-reauthorize`, daily. An order's authorization older
//! than `PAYMENTS_AUTHORIZATION_VALID_DAYS` (default 7) less `PAYMENTS_REAUTHORIZE_MARGIN_HOURS`
//! (default 48, more than the daily schedule) is re-authorized on the stored payment method: the new authorization is made first
//! (a `reauthorization` payment), then the old one is voided, then the new one becomes the order's
//! payment. Without a stored method (a one-time token), or when the new authorization fails, an
//! exception says the authorization is expiring.

use serde::Serialize;

use super::payments::{Ctx, KeyOp, Payer, Purpose, charge, earlier, void};
use crate::payments::model::{ChargeRequest, Error, Payment, PaymentStatus};
use crate::payments::store;
use crate::platform::audit::Actor;
use crate::platform::db::{Db, scoped_tx};
use crate::platform::exceptions::{self, NewException, Severity};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

fn setting(state: &AppState, name: &str, default: i64) -> i64 {
    state.config().env.get(name).and_then(|v| v.parse::<i64>().ok()).filter(|v| *v >= 0).unwrap_or(default)
}

#[derive(Debug, Default, Serialize)]
pub struct ReauthorizeReport {
    pub reauthorized: u32,
    /// Raised as exceptions (no stored method, or the new authorization failed).
    pub raised: u32,
}

pub async fn reauthorize_expiring(state: &AppState, ops: &Db) -> Result<ReauthorizeReport, Error> {
    let now = state.clock().now();
    let valid = chrono::Duration::days(setting(state, "PAYMENTS_AUTHORIZATION_VALID_DAYS", 7));
    // More than the schedule's day, so a run never finds one already expired.
    let margin = chrono::Duration::hours(setting(state, "PAYMENTS_REAUTHORIZE_MARGIN_HOURS", 48));
    let (expiring, unfinished) = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        (store::authorized_before(&tx, now - (valid - margin)).await?, store::reauthorizations(&tx).await?)
    };
    let caller = crate::platform::http::Caller::default();
    let mut report = ReauthorizeReport::default();
    for (tenant, new) in unfinished {
        let ctx = Ctx { state, db: ops, tenant: TenantId::from_uuid(tenant), actor: Actor::system(&caller) };
        match hand_over(&ctx, &new).await {
            Ok(()) => report.reauthorized += 1,
            Err(e) => {
                tracing::warn!(payment = %new.id, error = %e, "a re-authorization's hand-over waits for the next run")
            }
        }
    }
    for (tenant, p) in expiring {
        let ctx = Ctx { state, db: ops, tenant: TenantId::from_uuid(tenant), actor: Actor::system(&caller) };
        match reauthorize(&ctx, &p).await {
            Ok(()) => report.reauthorized += 1,
            Err(e) => {
                let expires = p.created_at + valid;
                let why = format!("the authorization expires at {expires} and was not renewed: {e}");
                raise(&ctx, &p, &why).await?;
                report.raised += 1;
            }
        }
    }
    Ok(report)
}

async fn reauthorize(ctx: &Ctx<'_>, old: &Payment) -> Result<(), Error> {
    let Some(method_id) = old.payment_method_id else {
        return Err(Error::Conflict {
            code: "no_stored_method",
            detail: "it was made with a one-time token, and no stored payment method can renew it".into(),
        });
    };
    let key = format!("reauthorize:{}", old.id);
    let new = match earlier(ctx, KeyOp::Charge, &key, old.order_id).await? {
        Some(a) => a,
        None => {
            let method = {
                let mut conn = ctx.db.conn().await?;
                let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
                super::method(&tx, method_id).await?
            };
            let req = ChargeRequest {
                order_id: old.order_id,
                amount: Some(old.authorized - old.captured),
                capture: false,
                payment_method_id: None,
                payment_method: None,
            };
            charge(ctx, &req, Some(Payer::Method(method)), Some(&key), Purpose::Reauthorization).await?
        }
    };
    if new.payment.status != PaymentStatus::Authorized {
        return Err(Error::Unavailable(format!("the new authorization is {}", new.payment.status)));
    }
    hand_over(ctx, &new.payment).await
}

/// The new authorization takes the old one's place: the old one (the order's live payment) is
/// voided, then the new one becomes the order's payment. Resumable: a run that stopped half-way
/// (a crash, a void whose answer was lost) is finished by the next. If the old authorization was
/// captured meanwhile, the new one is not needed and is voided instead.
async fn hand_over(ctx: &Ctx<'_>, new: &Payment) -> Result<(), Error> {
    let old = {
        let mut conn = ctx.db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        match store::live_payment(&tx, new.order_id).await? {
            Some(id) => Some(super::payments::detail(&tx, id).await?),
            None => None,
        }
    };
    if let Some(old) = &old {
        if old.status != PaymentStatus::Authorized {
            void(ctx, new.id, &format!("superseded:{}", new.id)).await?;
            return Ok(());
        }
        let voided = void(ctx, old.id, &format!("reauthorized:{}", old.id)).await?;
        if voided.payment.status != PaymentStatus::Voided {
            return Err(Error::Unavailable("the old authorization's void is not confirmed yet".into()));
        }
    }
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    store::make_order_payment(&tx, new.id).await?;
    let entry = crate::platform::audit::Entry::new("payment.reauthorized", "payment", new.id).after(
        serde_json::json!({"replaces": old.map(|o| o.id), "order_id": new.order_id, "amount": new.amount}),
    );
    crate::platform::audit::record_as(&tx, Some(ctx.tenant), &ctx.actor, ctx.state.clock().now(), entry)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn raise(ctx: &Ctx<'_>, p: &Payment, why: &str) -> Result<(), Error> {
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    let ex = NewException::new("authorization_expiring", "payments-reauthorize", Severity::Warning, why)
        .tenant(Some(ctx.tenant))
        .subject(format!("payment/{}/expiring", p.id))
        .order(p.order_id)
        .details(serde_json::json!({"payment_id": p.id, "authorized": p.authorized}));
    exceptions::open(&*tx, &ex, ctx.state.clock().now()).await?;
    tx.commit().await?;
    Ok(())
}
