//! A cancelled order keeps no money (`payment-release`, on `order.cancelled`): its authorization
//! is voided, its capture refunded (voided when nothing of it has settled; queued until settlement
//! when only part of it could go back). Every operation carries the key `cancel:<order>`: a
//! repeated delivery finds what the first one did and does nothing again. A payment whose outcome
//! is unknown is left to the reconciler, which voids what it finds approved for a cancelled order.

use uuid::Uuid;

use super::payments::{Answer, Ctx, detail, refund, void};
use crate::orders::OrderStatus;
use crate::payments::model::{Error, Payment, PaymentStatus};
use crate::payments::store;
use crate::platform::db::scoped_tx;
use crate::platform::exceptions::{self, NewException, Severity};

/// The exception a cancellation leaves when giving the money back failed (retried by the queue;
/// resolved when a later delivery succeeds).
pub const INCOMPLETE: &str = "cancellation_incomplete";

/// Gives back what a cancelled order's payment holds; what it did (`None`: nothing to do — not
/// cancelled, no live payment, or its outcome unknown).
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
    let Some(p) = live else { return Ok(None) };
    let key = format!("cancel:{order_id}");
    let done = match p.status {
        PaymentStatus::Authorized => void(ctx, p.id, &key).await,
        PaymentStatus::Captured | PaymentStatus::Refunded if p.refundable > 0 => {
            refund(ctx, p.id, None, &key).await
        }
        _ => return Ok(None),
    };
    let subject = format!("order/{order_id}/cancel/payment");
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    let now = ctx.state.clock().now();
    match done {
        Ok(answer) => {
            let what = undone(&p, &answer);
            crate::orders::record_undo(&tx, ctx.tenant, order_id, &what, now).await?;
            exceptions::resolve_subject(&*tx, INCOMPLETE, &subject, &what, now).await?;
            tx.commit().await?;
            Ok(Some(what))
        }
        // Another step gave it back meanwhile (the payment step voids what it authorized for an
        // order cancelled in flight): nothing left to do.
        Err(Error::Conflict { code: "invalid_state", .. })
            if store::live_payment(&tx, order_id).await?.is_none() =>
        {
            Ok(None)
        }
        Err(e) => {
            let ex = NewException::new(
                INCOMPLETE,
                "payment-release",
                Severity::Error,
                format!("the cancelled order's payment {} ({}) could not be given back: {e}", p.id, p.status),
            )
            .tenant(Some(ctx.tenant))
            .order(order_id)
            .subject(subject)
            .details(serde_json::json!({"payment_id": p.id, "payment_status": p.status}));
            exceptions::open(&*tx, &ex, now).await?;
            tx.commit().await?;
            Err(e)
        }
    }
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
