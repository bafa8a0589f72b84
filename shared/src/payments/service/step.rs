//! The payment step of the order pipeline (`payment-authorize`, on `order.accepted`) and the
//! retry of a failed payment (`POST /api/v1/orders/{id}/payment`).
//!
//! - `external` and `terms` orders pass to `payment_authorized` without a gateway call.
//! - `token` orders (a one-time token, or a stored payment method) are authorized for their total
//!   through the orchestrator ([`super::payments::charge`]); the order follows its payment in the
//!   payment's own transactions (`payment_authorized`, `payment_pending`, `payment_failed`).
//! - The charge's key is derived from the event (`order-accepted:<event id>`): a duplicate or late
//!   delivery finds the payment it made and asks about it, never charges again; an order that is
//!   no longer `accepted` (held, cancelled, moved on) is left alone. A release re-publishes a fresh
//!   `order.accepted`, so the step runs then.
//! - An order cancelled while its authorization was in flight has the authorization voided.

use uuid::Uuid;

use super::payments::{
    Answer, Ctx, KeyOp, Payer, Purpose, charge, earlier, follow_live, refund, resolve, void,
};
use crate::orders::{OrderStatus, PaymentFailure};
use crate::payments::model::{
    ChargeRequest, Error, OneTimeToken, PaymentMethod, PaymentStatus, RetryRequest,
};
use crate::platform::db::scoped_tx;

/// What the step did with an order.
#[derive(Debug)]
pub enum Step {
    /// The order was not waiting for this step (its status then).
    LeftAlone(OrderStatus),
    /// `external` or `terms`: authorized without a gateway call.
    NoGatewayCall,
    /// Charged (authorized, pending or declined: the order followed).
    Charged(Box<Answer>),
    /// The gateway declined; the payment failed and the order followed.
    Declined(Error),
    /// Nothing was charged; the order is `payment_failed` for this reason.
    Failed(String),
}

/// Runs the payment step for an order in `expect` (`accepted` for the pipeline, `payment_failed`
/// for a retry). `method` is a retry's new stored method, recorded on the order first.
pub async fn pay_order(
    ctx: &Ctx<'_>,
    order_id: Uuid,
    expect: OrderStatus,
    key: &str,
    method: Option<PaymentMethod>,
) -> Result<Step, Error> {
    match earlier(ctx, KeyOp::Charge, key, order_id).await {
        Ok(Some(answer)) => return after_charge(ctx, order_id, key, answer).await,
        Ok(None) => {}
        // A repeated delivery of a charge that was declined or failed: the order followed it then.
        Err(e @ Error::Declined { .. }) => return Ok(Step::Declined(e)),
        Err(Error::Unavailable(why)) => return Ok(Step::Failed(why)),
        Err(e) => return Err(e),
    }
    let on_file = {
        let mut conn = ctx.db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        let on_file = crate::orders::payment_on_file(&tx, order_id).await?;
        if on_file.status == expect {
            if let Some(m) = &method {
                crate::orders::use_payment_method(&tx, order_id, Some(m.id), ctx.state.clock().now()).await?;
            }
        }
        tx.commit().await?;
        on_file
    };
    if on_file.status == OrderStatus::PaymentPending && expect == OrderStatus::Accepted {
        // Re-driven while its payment's outcome is unknown: ask the gateway (never charge again).
        return ask_pending(ctx, order_id).await;
    }
    if on_file.status != expect {
        return Ok(Step::LeftAlone(on_file.status));
    }
    // Paid already (authorized while the order was held, or charged by hand): the order follows
    // that payment.
    if let Some(p) = follow_live(ctx, order_id).await? {
        return Ok(Step::Charged(Box::new(Answer {
            pending: p.status == PaymentStatus::Pending,
            payment: p,
        })));
    }
    let nothing_to_pay = on_file.total == 0;
    if method.is_none() && (nothing_to_pay || matches!(on_file.source.as_str(), "external" | "terms")) {
        let reason = match nothing_to_pay {
            true => "nothing to pay: no gateway call".to_owned(),
            false => format!("paid by {}: no gateway call", on_file.source),
        };
        decide(ctx, order_id, OrderStatus::PaymentAuthorized, &reason, None).await?;
        return Ok(Step::NoGatewayCall);
    }
    let payer = match (method, on_file.payment_method_id, on_file.token) {
        (Some(m), ..) => Payer::Method(m),
        (None, Some(id), _) => {
            let found = {
                let mut conn = ctx.db.conn().await?;
                let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
                super::method(&tx, id).await
            };
            match found {
                Ok(m) => Payer::Method(m),
                Err(Error::NotFound(_)) => {
                    return failed(ctx, order_id, "the order's payment method does not exist").await;
                }
                Err(e) => return Err(e),
            }
        }
        (None, None, Some(token)) => Payer::Token(OneTimeToken::new(token)),
        (None, None, None) => {
            return failed(
                ctx,
                order_id,
                "the order has no payment method on file (its one-time token was used)",
            )
            .await;
        }
    };
    let used_token = matches!(payer, Payer::Token(_));
    let req = ChargeRequest {
        order_id,
        amount: None,
        capture: false,
        payment_method_id: None,
        payment_method: None,
    };
    let charged = charge(ctx, &req, Some(payer), Some(key), Purpose::Order).await;
    let written = {
        let mut conn = ctx.db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        let written = crate::payments::store::payment_by_key(&tx, key).await?.is_some();
        if used_token && written {
            // A one-time token is spent once sent (the attempt carried it to the gateway).
            crate::orders::use_payment_method(&tx, order_id, None, ctx.state.clock().now()).await?;
        }
        tx.commit().await?;
        written
    };
    match charged {
        Ok(answer) => after_charge(ctx, order_id, key, answer).await,
        // The payment failed and the order followed it (exception and email included).
        Err(e @ Error::Declined { .. }) => Ok(Step::Declined(e)),
        Err(Error::Conflict { code: "order_cancelled", .. }) => Ok(Step::LeftAlone(OrderStatus::Cancelled)),
        // Charged outside the step (by hand): the order follows that payment.
        Err(Error::Conflict { code: "order_has_live_payment", .. }) => match follow_live(ctx, order_id)
            .await?
        {
            Some(p) => Ok(Step::Charged(Box::new(Answer {
                pending: p.status == PaymentStatus::Pending,
                payment: p,
            }))),
            None => Err(Error::Unavailable("the order's live payment moved on meanwhile; try again".into())),
        },
        // Nothing was sent (breakers open, no account): tried again later (the queue redelivers;
        // a retry's caller gets 503), the order left waiting.
        Err(e @ Error::Unavailable(_)) if !written => Err(e),
        Err(e @ (Error::Unavailable(_) | Error::Invalid(_) | Error::Conflict { .. })) => {
            let why = e.to_string();
            // Nothing charged it: if no payment moved the order, the step fails it now.
            failed(ctx, order_id, &why).await?;
            Ok(Step::Failed(why))
        }
        Err(e) => Err(e),
    }
}

/// An order in `payment_pending` whose step runs again (an operator's retry): its pending payment
/// is resolved by asking the gateway that holds it, and the order follows what the gateway says.
async fn ask_pending(ctx: &Ctx<'_>, order_id: Uuid) -> Result<Step, Error> {
    let Some(live) = follow_live(ctx, order_id).await? else {
        return Ok(Step::LeftAlone(OrderStatus::PaymentPending));
    };
    if live.status == PaymentStatus::Pending {
        resolve(ctx, live.id).await?;
    }
    match follow_live(ctx, order_id).await? {
        Some(p) => {
            Ok(Step::Charged(Box::new(Answer { pending: p.status == PaymentStatus::Pending, payment: p })))
        }
        None => Ok(Step::LeftAlone(OrderStatus::PaymentPending)),
    }
}

/// The refusal of a retry for an order not in `payment_failed`.
pub fn not_failed(status: OrderStatus) -> Error {
    Error::Conflict {
        code: "order_not_payment_failed",
        detail: format!("only an order in payment_failed has its payment retried; this one is {status}"),
    }
}

/// The payment method a retry uses, checked before anything is stored: the order must be
/// `payment_failed` (and, with `own_only`, placed by the caller); a new method is made from tokens (vaulted) or found by id; with neither, the
/// stored method on file (there must be one).
pub async fn retry_method(
    ctx: &Ctx<'_>,
    order_id: Uuid,
    req: &RetryRequest,
    own_only: bool,
) -> Result<Option<PaymentMethod>, Error> {
    let (on_file, by_id) = {
        let mut conn = ctx.db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        let on_file = crate::orders::payment_on_file(&tx, order_id).await?;
        // A caller who may see only their own orders sees no other.
        if own_only && on_file.placed_by != ctx.actor.user_id {
            return Err(Error::NotFound(format!("order {order_id}")));
        }
        let by_id = super::named_method(&tx, req.payment_method_id).await?;
        (on_file, by_id)
    };
    if on_file.status != OrderStatus::PaymentFailed {
        return Err(not_failed(on_file.status));
    }
    if let Some(new) = &req.payment_method {
        return Ok(Some(super::create_method(ctx.state, ctx.db, ctx.tenant, &ctx.actor, new).await?));
    }
    if by_id.is_some() {
        return Ok(by_id);
    }
    let Some(on_file) = on_file.payment_method_id else {
        return Err(Error::Invalid(vec![crate::FieldError::new(
            "payment_method_id",
            "required",
            "the order has no stored payment method on file (its one-time token was used): send payment_method_id or payment_method",
        )]));
    };
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    Ok(Some(super::method(&tx, on_file).await?))
}

/// After a charge answered: an order cancelled while it was in flight does not keep the money.
async fn after_charge(ctx: &Ctx<'_>, order_id: Uuid, key: &str, answer: Answer) -> Result<Step, Error> {
    let status = {
        let mut conn = ctx.db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        crate::orders::find_order(&tx, order_id).await?.status
    };
    if status != OrderStatus::Cancelled {
        return Ok(Step::Charged(Box::new(answer)));
    }
    let key = format!("cancelled:{key}");
    let p = &answer.payment;
    let answer = match p.status {
        PaymentStatus::Authorized => void(ctx, p.id, &key).await?,
        PaymentStatus::Captured => refund(ctx, p.id, None, &key).await?,
        // Pending: the reconciler voids it when it finds it approved for a cancelled order.
        _ => answer,
    };
    tracing::info!(order_id = %order_id, payment = %answer.payment.id, status = %answer.payment.status,
        "the order was cancelled while its payment was in flight; the payment is not kept");
    Ok(Step::Charged(Box::new(answer)))
}

/// Fails an order whose payment could not even be attempted (when no payment moved it already).
async fn failed(ctx: &Ctx<'_>, order_id: Uuid, why: &str) -> Result<Step, Error> {
    let failure = PaymentFailure { payment_id: None, decline_code: None, reason: why.to_owned() };
    decide(ctx, order_id, OrderStatus::PaymentFailed, "the payment could not be made", Some(&failure))
        .await?;
    Ok(Step::Failed(why.to_owned()))
}

async fn decide(
    ctx: &Ctx<'_>,
    order_id: Uuid,
    to: OrderStatus,
    reason: &str,
    failure: Option<&PaymentFailure>,
) -> Result<(), Error> {
    let envelopes = {
        let mut conn = ctx.db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        let moved = crate::orders::payment_decided(
            &tx,
            ctx.state,
            ctx.tenant,
            order_id,
            to,
            reason,
            failure,
            ctx.state.clock().now(),
        )
        .await?;
        tx.commit().await?;
        moved.unwrap_or_default()
    };
    if let Err(e) = crate::platform::events::publish_committed(ctx.state, &envelopes).await {
        tracing::warn!(error = %e, "order events left to the relay");
    }
    Ok(())
}
