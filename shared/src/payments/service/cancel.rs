//! A cancelled order keeps no money (`payment-release`, on `order.cancelled`): its authorization
//! is voided, its capture refunded (voided when nothing of it has settled; queued until settlement
//! when only part of it could go back). Each try carries the key `cancel:<payment>:<n>`: a repeated
//! delivery finds what an earlier try did — done, or its outcome unknown (left to the reconciler,
//! never sent again) — and only a try the gateway certainly did not process is followed by a new
//! one. A payment whose own outcome is unknown is left to the reconciler, which voids what it finds
//! approved for a cancelled order.

use uuid::Uuid;

use super::payments::{Answer, Ctx, KeyOp, detail, earlier, refund, void};
use crate::orders::OrderStatus;
use crate::payments::model::{AttemptStatus, Error, Payment, PaymentStatus};
use crate::payments::store;
use crate::platform::db::scoped_tx;
use crate::platform::exceptions::{self, NewException, Severity};

/// The exception a cancellation leaves while giving the money back has not succeeded (retried by
/// the queue, or from the exception; resolved when nothing is left to give back).
pub const INCOMPLETE: &str = "cancellation_incomplete";

/// How many tries a cancellation makes before it needs a person (each a new key).
const MAX_TRIES: u32 = 20;

/// Gives back what a cancelled order's payment holds; what it did (`None`: nothing to do — not
/// cancelled, no live payment, its outcome unknown, or an earlier try's outcome unknown).
pub async fn release_cancelled(ctx: &Ctx<'_>, order_id: Uuid) -> Result<Option<String>, Error> {
    let live = {
        let mut conn = ctx.db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        if crate::orders::find_order(&tx, order_id).await?.status != OrderStatus::Cancelled {
            return Ok(None);
        }
        match store::live_payment(&tx, order_id).await? {
            Some(id) => Some(detail(&tx, id).await?),
            None => None,
        }
    };
    let subject = format!("order/{order_id}/cancel/payment");
    let op = match live.as_ref().map(|p| (p.status, p.refundable)) {
        Some((PaymentStatus::Authorized, _)) => KeyOp::Void,
        Some((PaymentStatus::Captured | PaymentStatus::Refunded, r)) if r > 0 => KeyOp::Refund,
        // Nothing live (given back already, by this step or the payment step) or its own outcome
        // unknown (the reconciler's): nothing to do here.
        _ => {
            if live.is_none() {
                settle_exception(ctx, order_id, &subject, None, "nothing left to give back").await?;
            }
            return Ok(None);
        }
    };
    let Some(p) = live else { return Ok(None) };
    // The first key no earlier try used, unless an earlier try may have done it.
    let mut key = None;
    for n in 0..MAX_TRIES {
        let k = format!("cancel:{}:{n}", p.id);
        match earlier(ctx, op, &k, p.id).await {
            Ok(None) => {
                key = Some(k);
                break;
            }
            // Done, or its outcome unknown: never sent again (the reconciler asks about it).
            Ok(Some(_)) => return Ok(None),
            // Certainly not done: the next key.
            Err(Error::Declined { .. } | Error::Unavailable(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    let Some(key) = key else {
        let why = format!("{MAX_TRIES} tries to give back payment {} failed", p.id);
        raise(ctx, order_id, &subject, &p, &why).await?;
        return Ok(None);
    };
    let done = match op {
        KeyOp::Void => void(ctx, p.id, &key).await,
        _ => refund(ctx, p.id, None, &key).await,
    };
    match done {
        Ok(answer) if unknown(&answer) => {
            let why =
                format!("the gateway's answer to giving back payment {} was lost; it is being asked", p.id);
            raise(ctx, order_id, &subject, &p, &why).await?;
            Ok(None)
        }
        Ok(answer) => {
            let what = undone(&p, &answer);
            settle_exception(ctx, order_id, &subject, Some(&what), &what).await?;
            Ok(Some(what))
        }
        // Another step gave it back meanwhile (the payment step voids what it authorized for an
        // order cancelled in flight).
        Err(Error::Conflict { code: "invalid_state", .. }) => Ok(None),
        Err(e) => {
            let why =
                format!("the cancelled order's payment {} ({}) could not be given back: {e}", p.id, p.status);
            raise(ctx, order_id, &subject, &p, &why).await?;
            Err(e)
        }
    }
}

/// An operation whose outcome is not known yet (not a refund queued until settlement: that one is
/// done, as far as the cancellation goes).
fn unknown(answer: &Answer) -> bool {
    answer.pending
        && answer
            .payment
            .attempts
            .last()
            .is_some_and(|a| matches!(a.status, AttemptStatus::Attempted | AttemptStatus::Unknown))
}

/// Records what was given back in the order's history (when `what`) and resolves the exception.
async fn settle_exception(
    ctx: &Ctx<'_>,
    order_id: Uuid,
    subject: &str,
    what: Option<&str>,
    resolution: &str,
) -> Result<(), Error> {
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    let now = ctx.state.clock().now();
    if let Some(what) = what {
        crate::orders::record_undo(&tx, ctx.tenant, order_id, what, now).await?;
    }
    exceptions::resolve_subject(&*tx, INCOMPLETE, subject, resolution, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Opens (once) the exception saying the money is not back yet.
async fn raise(ctx: &Ctx<'_>, order_id: Uuid, subject: &str, p: &Payment, why: &str) -> Result<(), Error> {
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    let ex = NewException::new(INCOMPLETE, "payment-release", Severity::Error, why)
        .tenant(Some(ctx.tenant))
        .order(order_id)
        .subject(subject)
        .details(serde_json::json!({"payment_id": p.id, "payment_status": p.status}));
    exceptions::open(&*tx, &ex, ctx.state.clock().now()).await?;
    tx.commit().await?;
    Ok(())
}

/// The order history's line for what was given back.
fn undone(before: &Payment, answer: &Answer) -> String {
    let after = &answer.payment;
    let money = |m: i64| format!("{}.{:02} {}", m / 100, m % 100, after.currency);
    match (before.status, after.status) {
        (PaymentStatus::Authorized, _) => format!("authorization of {} voided", money(before.authorized)),
        _ if answer.pending => {
            format!("refund of {} queued until the capture settles", money(before.refundable))
        }
        (_, PaymentStatus::Voided) => {
            format!("capture of {} voided before settlement", money(before.captured))
        }
        _ => format!("{} refunded", money(before.refundable)),
    }
}
