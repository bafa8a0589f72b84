//! Captures follow shipments (the service fulfillment calls): exactly what shipped is charged.
//!
//! The tenant setting `payments.capture` chooses how:
//! - `per_shipment` (default): the first shipment captures its own amount from the order's
//!   authorization (a gateway captures an authorization once; the rest of it is released by that
//!   partial capture); every later shipment is a new sale on the stored payment method. What
//!   never ships costs nothing: an authorization nothing was captured from is voided.
//! - `whole`: the first shipment captures the whole authorization; later shipments are covered by
//!   it; what never ships is refunded when the order's shipping ends ([`release_unshipped`]).
//!
//! Each shipment is one row of `payment_shipments`, keyed by its reference: calling again for the
//! same shipment changes nothing. Its gateway call carries a key of its own (`shipment:<order>:<ref>`
//! on the capture attempt or the sale's payment): after a crash between the call and the row, the
//! next call finds that call by its key and records it — never makes it again.

use serde::Serialize;
use uuid::Uuid;

use super::payments::{Ctx, KeyOp, Payer, Purpose, capture, charge, detail, earlier, refund, void};
use crate::payments::model::{ChargeRequest, Error, Payment, PaymentStatus};
use crate::payments::store;
use crate::platform::db::scoped_tx;
use crate::platform::exceptions::{self, NewException, Severity};

/// A shipment's money, as fulfillment reports it.
#[derive(Debug, Clone)]
pub struct Shipment {
    /// The shipment's own reference (unique within the order).
    pub reference: String,
    /// What shipped, in the order's minor units.
    pub amount: i64,
}

/// How a shipment was charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShipmentCharge {
    pub reference: String,
    pub amount: i64,
    /// What this shipment put on the card (a whole capture more than its amount; covered: 0).
    pub charged: i64,
    /// `capture`, `sale`, `covered` or `released`.
    pub how: String,
    pub payment_id: Option<Uuid>,
    /// The gateway's outcome is not known yet (the reconciler resolves it).
    pub pending: bool,
}

/// How captures follow shipments for a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMode {
    PerShipment,
    Whole,
}

async fn mode(tx: &tokio_postgres::Transaction<'_>, ctx: &Ctx<'_>) -> Result<CaptureMode, Error> {
    let v = crate::identity::tenant_setting(tx, ctx.tenant, "payments.capture").await?;
    Ok(match v.as_ref().and_then(|v| v.as_str()) {
        Some("whole") => CaptureMode::Whole,
        _ => CaptureMode::PerShipment,
    })
}

/// What the order's shipments so far were, and its live payment.
struct Books {
    mode: CaptureMode,
    existing: Option<ShipmentCharge>,
    shipped: i64,
    live: Option<Payment>,
}

async fn books(ctx: &Ctx<'_>, order_id: Uuid, reference: &str) -> Result<Books, Error> {
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    let mode = mode(&tx, ctx).await?;
    let existing = store::shipment(&tx, order_id, reference).await?;
    let shipped = store::shipped_total(&tx, order_id).await?;
    let live = match store::live_payment(&tx, order_id).await? {
        Some(id) => Some(detail(&tx, id).await?),
        None => None,
    };
    Ok(Books { mode, existing, shipped, live })
}

/// Charges one shipment of an order as the tenant's setting says.
pub async fn charge_shipment(
    ctx: &Ctx<'_>,
    order_id: Uuid,
    shipment: &Shipment,
) -> Result<ShipmentCharge, Error> {
    if shipment.amount < 0 || shipment.reference.is_empty() || shipment.reference.len() > 100 {
        return Err(Error::Invalid(vec![crate::FieldError::new(
            "shipment",
            "invalid",
            "a reference of 1 to 100 characters and an amount of 0 or more",
        )]));
    }
    let b = books(ctx, order_id, &shipment.reference).await?;
    if let Some(done) = b.existing {
        return Ok(done);
    }
    let Some(live) = b.live else {
        return Err(Error::Conflict {
            code: "no_authorization",
            detail: "the order has no live payment to capture from".into(),
        });
    };
    let key = format!("shipment:{order_id}:{}", shipment.reference);
    let capture_amount = match b.mode {
        CaptureMode::PerShipment => shipment.amount.min(live.authorized),
        CaptureMode::Whole => live.authorized,
    };
    // A call made for this shipment before a crash kept it from being recorded: found by its key
    // (asked about, never made again) and recorded as it was.
    let made = match earlier(ctx, KeyOp::Capture, &key, live.id).await? {
        Some(a) => Some(("capture", capture_amount, a)),
        None => earlier(ctx, KeyOp::Charge, &key, order_id).await?.map(|a| ("sale", a.payment.amount, a)),
    };
    if let Some((how, charged, a)) = made {
        let row = ShipmentCharge {
            reference: shipment.reference.clone(),
            amount: shipment.amount,
            charged,
            how: how.into(),
            payment_id: Some(a.payment.id),
            pending: a.pending,
        };
        return record(ctx, order_id, &row).await;
    }
    let outcome = match (b.mode, live.status) {
        (_, _) if shipment.amount == 0 => Ok(("covered", 0, None, false)),
        (_, PaymentStatus::Pending) => Err(Error::Conflict {
            code: "payment_pending",
            detail: "the order's payment outcome is not known yet; charge the shipment once it is".into(),
        }),
        (CaptureMode::PerShipment, PaymentStatus::Authorized) => {
            capture(ctx, live.id, Some(capture_amount), &key)
                .await
                .map(|a| ("capture", capture_amount, Some(a.payment.id), a.pending))
        }
        (CaptureMode::Whole, PaymentStatus::Authorized) => capture(ctx, live.id, None, &key)
            .await
            .map(|a| ("capture", capture_amount, Some(a.payment.id), a.pending)),
        (CaptureMode::Whole, _) if b.shipped + shipment.amount <= live.captured => {
            Ok(("covered", 0, None, false))
        }
        (mode, _) => {
            // Past what was captured: this shipment (or, whole, its part beyond) is a new sale.
            let amount = match mode {
                CaptureMode::Whole => b.shipped + shipment.amount - live.captured.max(b.shipped),
                CaptureMode::PerShipment => shipment.amount,
            };
            sale(ctx, order_id, &live, amount, &key)
                .await
                .map(|a| ("sale", amount, Some(a.payment.id), a.pending))
        }
    };
    let (how, charged, payment_id, pending) = match outcome {
        Ok(o) => o,
        Err(e) => {
            raise(ctx, order_id, &shipment.reference, &e).await?;
            return Err(e);
        }
    };
    let row = ShipmentCharge {
        reference: shipment.reference.clone(),
        amount: shipment.amount,
        charged,
        how: how.into(),
        payment_id,
        pending,
    };
    record(ctx, order_id, &row).await
}

/// A later shipment's own sale on the order's stored payment method.
async fn sale(
    ctx: &Ctx<'_>,
    order_id: Uuid,
    live: &Payment,
    amount: i64,
    key: &str,
) -> Result<super::payments::Answer, Error> {
    let Some(method_id) = live.payment_method_id else {
        return Err(Error::Conflict {
            code: "no_stored_method",
            detail: "the order was paid with a one-time token: a later shipment cannot be charged without a stored payment method".into(),
        });
    };
    let method = {
        let mut conn = ctx.db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        super::method(&tx, method_id).await?
    };
    let req = ChargeRequest {
        order_id,
        amount: Some(amount),
        capture: true,
        payment_method_id: None,
        payment_method: None,
    };
    charge(ctx, &req, Some(Payer::Method(method)), Some(key), Purpose::Shipment).await
}

/// What [`release_unshipped`] gave back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Released {
    /// An authorization nothing was captured from, voided.
    pub voided: i64,
    /// Captured beyond what shipped (whole captures), refunded (queued until settlement when
    /// the capture has not settled yet).
    pub refunded: i64,
}

/// Ends an order's shipping: whatever never shipped (short picks, rejected lines, a cancelled
/// remainder) is released, never captured. Calling it again changes nothing.
pub async fn release_unshipped(ctx: &Ctx<'_>, order_id: Uuid) -> Result<Released, Error> {
    const REFERENCE: &str = "unshipped";
    let b = books(ctx, order_id, REFERENCE).await?;
    if let Some(done) = b.existing {
        return Ok(Released { voided: 0, refunded: done.charged });
    }
    let key = format!("release:{order_id}");
    let mut released = Released { voided: 0, refunded: 0 };
    let mut payment_id = None;
    if let Some(live) = b.live {
        payment_id = Some(live.id);
        match live.status {
            PaymentStatus::Authorized => {
                void(ctx, live.id, &key).await?;
                released.voided = live.authorized;
            }
            PaymentStatus::Captured if live.captured - live.refunded > b.shipped => {
                let excess = live.captured - live.refunded - b.shipped;
                refund(ctx, live.id, Some(excess), &key).await?;
                released.refunded = excess;
            }
            _ => {}
        }
    }
    let row = ShipmentCharge {
        reference: REFERENCE.into(),
        amount: 0,
        charged: released.refunded,
        how: "released".into(),
        payment_id,
        pending: false,
    };
    record(ctx, order_id, &row).await?;
    Ok(released)
}

async fn record(ctx: &Ctx<'_>, order_id: Uuid, row: &ShipmentCharge) -> Result<ShipmentCharge, Error> {
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    let now = ctx.state.clock().now();
    if !store::insert_shipment(&tx, ctx.tenant.as_uuid(), order_id, row, now).await? {
        // Another instance recorded it first (its charge carried the same key: made once).
        drop(tx);
        let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
        return store::shipment(&tx, order_id, &row.reference)
            .await?
            .ok_or_else(|| Error::Internal("a shipment's record vanished".into()));
    }
    let entry = crate::platform::audit::Entry::new("payment.shipment_charged", "order", order_id).after(row);
    crate::platform::audit::record_as(&tx, Some(ctx.tenant), &ctx.actor, now, entry).await?;
    tx.commit().await?;
    Ok(row.clone())
}

/// A shipment that could not be charged needs a person.
async fn raise(ctx: &Ctx<'_>, order_id: Uuid, reference: &str, e: &Error) -> Result<(), Error> {
    let mut conn = ctx.db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(ctx.tenant), None).await?;
    let ex = NewException::new("shipment_charge_failed", "payments", Severity::Error, e.to_string())
        .tenant(Some(ctx.tenant))
        .subject(format!("order/{order_id}/shipment/{reference}"))
        .order(order_id)
        .details(serde_json::json!({"shipment": reference}));
    exceptions::open(&*tx, &ex, ctx.state.clock().now()).await?;
    tx.commit().await?;
    Ok(())
}
