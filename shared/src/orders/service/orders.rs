//! The order rules the handlers and consumers share: taking an order through intake, changing one
//! (addresses, notes, hold / release / cancel), and running a held one through intake again.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::intake::{self, Context, Hold};
use crate::identity::Principal;
use crate::orders::model::{Action, Error, Order, OrderInput, OrderPatch, OrderStatus, Origin};
use crate::orders::store::orders as store;
use crate::platform::events::Envelope;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// An order of the transaction's tenant (for other contexts: payments reads what it charges).
pub async fn find(tx: &Transaction<'_>, id: Uuid) -> Result<Order, Error> {
    store::load(tx, id, false).await
}

/// The tenant's serviceable US states (`orders.serviceable_states`; empty: anywhere).
pub async fn serviceable_states(tx: &Transaction<'_>, tenant: TenantId) -> Result<Vec<String>, Error> {
    let row = crate::identity::tenant_setting(tx, tenant, "orders.serviceable_states").await?;
    Ok(row
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

/// A text setting of the tenant's, if it has one.
async fn text_setting(tx: &Transaction<'_>, tenant: TenantId, key: &str) -> Result<Option<String>, Error> {
    let v = crate::identity::tenant_setting(tx, tenant, key).await?;
    Ok(v.and_then(|v| v.as_str().map(str::to_owned)).filter(|s| !s.trim().is_empty()))
}

/// `input` with what it left out filled from the tenant's settings: its currency
/// (`orders.currency`) and payment source (`orders.default_payment_source`).
pub async fn with_defaults(
    tx: &Transaction<'_>,
    tenant: TenantId,
    mut input: OrderInput,
) -> Result<OrderInput, Error> {
    if input.currency.trim().is_empty() {
        input.currency = text_setting(tx, tenant, "orders.currency").await?.unwrap_or_default();
    }
    if input.payment.source.trim().is_empty() {
        input.payment.source =
            text_setting(tx, tenant, "orders.default_payment_source").await?.unwrap_or_default();
    }
    Ok(input)
}

pub async fn context(tx: &Transaction<'_>, p: &Principal) -> Result<Context, Error> {
    Ok(Context {
        tenant: p.tenant,
        at: p.now,
        channel: None,
        serviceable_states: serviceable_states(tx, p.tenant).await?,
    })
}

/// Runs intake for one order and writes it in `tx` (the caller commits, then publishes): the new
/// order (201), or the one this key or channel order id already made (200).
pub async fn take(
    state: &AppState,
    tx: &Transaction<'_>,
    ctx: &Context,
    origin: &Origin,
    input: &OrderInput,
) -> Result<(StatusCode, Order, Vec<Envelope>), Error> {
    if let Some((id, stored)) = store::existing(tx, ctx.tenant, origin, input.external_id.as_deref()).await? {
        let order = store::load(tx, id, false).await?;
        if origin.compares_bodies() && stored.is_some_and(|fp| fp != input.fingerprint()) {
            return Err(Error::Conflict {
                code: "external_id_conflict",
                detail: format!(
                    "order {} (number {}) was taken with this external id and another body; \
                     send its changes with PATCH /api/v1/orders/{}",
                    order.id, order.number, order.id
                ),
            });
        }
        return Ok((StatusCode::OK, order, Vec::new()));
    }
    let ev = intake::evaluate(tx, ctx, input).await?;
    match store::insert(tx, state, ctx.tenant, origin, input, &ev, ctx.at).await? {
        Some((id, envelope)) => {
            redeem_promotions(tx, ctx.tenant, id, input, &ev, ctx.at).await?;
            Ok((StatusCode::CREATED, store::load(tx, id, false).await?, vec![envelope]))
        }
        // Another request made it between our look and our insert: the constraints kept it to one.
        None => Err(Error::Conflict {
            code: "request_in_progress",
            detail: "the same order is being created by another request; retry to get it".into(),
        }),
    }
}

/// The promotions intake applied to a new order count as its redemptions (the order id is the
/// reference): its cancellation gives them back.
async fn redeem_promotions(
    tx: &Transaction<'_>,
    tenant: TenantId,
    order: Uuid,
    input: &OrderInput,
    ev: &intake::Evaluation,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let applied: Vec<(Uuid, i64)> = ev
        .pricing
        .get("promotions")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter(|o| o.get("applies").and_then(|a| a.as_bool()) == Some(true))
        .filter_map(|o| {
            let id = o.get("promotion_id")?.as_str()?.parse().ok()?;
            Some((id, o.get("discount")?.as_i64()?))
        })
        .collect();
    if applied.is_empty() {
        return Ok(());
    }
    let customer = input.customer.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    let customer = customer.map(crate::catalog::customer_key);
    crate::catalog::redeem_applied(
        tx,
        tenant,
        &order.to_string(),
        customer.as_deref(),
        &ev.currency,
        &applied,
        now,
    )
    .await?;
    Ok(())
}

/// Runs a held order through intake again (its stored lines, with today's mappings and prices):
/// `accepted` (and `order.accepted`) when it passes; otherwise its holds are brought up to date.
pub async fn revalidate_order(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    actor: (&'static str, Option<Uuid>),
    now: DateTime<Utc>,
) -> Result<(Vec<Hold>, Option<Envelope>), Error> {
    let order = store::load(tx, id, true).await?;
    if order.status != OrderStatus::NeedsReview {
        return Err(Error::Conflict {
            code: "invalid_transition",
            detail: format!("only an order in needs_review is revalidated; this one is {}", order.status),
        });
    }
    let channel = match order.channel_id {
        Some(c) => crate::orders::store::channels::terms(tx, c).await?,
        None => None,
    };
    let ctx = Context { tenant, at: now, channel, serviceable_states: serviceable_states(tx, tenant).await? };
    let list_priced = order.pricing.get("source").and_then(|s| s.as_str()) == Some("price_list");
    let input = OrderInput {
        external_id: order.external_id.clone(),
        currency: order.currency.clone(),
        customer: crate::orders::Customer {
            email: order.customer_email.clone(),
            name: order.customer_name.clone(),
            phone: None,
        },
        shipping_address: order.shipping_address.clone().and_then(|a| serde_json::from_value(a).ok()),
        billing_address: order.billing_address.clone().and_then(|a| serde_json::from_value(a).ok()),
        lines: order
            .lines
            .iter()
            .map(|l| crate::orders::LineInput {
                sku: l.tenant_sku.clone(),
                product_id: l.channel_product_id.clone(),
                variant_id: l.channel_variant_id.clone(),
                name: l.name.clone(),
                quantity: i64::from(l.quantity),
                unit_price: (!list_priced).then_some(l.unit_price),
                discount: (!list_priced).then_some(l.discount),
                tax: Some(l.tax),
            })
            .collect(),
        shipping: Some(order.shipping),
        tax: Some(order.tax),
        discount: (!list_priced).then_some(order.discount),
        total: (!list_priced).then_some(order.total),
        payment: crate::orders::Payment {
            source: order.payment_source.clone(),
            token: store::payment_token(tx, id).await?,
            payment_method_id: order.payment_method_id,
            status: order.payment_status.clone(),
            reference: order.payment_reference.clone(),
        },
        promotion_codes: order.promotion_codes.clone(),
        notes: order.notes.clone(),
    };
    let mut ev = intake::evaluate(tx, &ctx, &input).await?;
    // A price, payment or address hold a person resolved (accepted the channel's price, confirmed
    // the payment or the address) no longer holds the order; an unknown SKU only goes away with its mapping.
    let recorded = crate::platform::exceptions::for_order(tx, id).await?;
    let line_of = |e: &crate::platform::exceptions::Exception| {
        e.details.get("line").and_then(serde_json::Value::as_i64)
    };
    let acknowledged: Vec<(String, Option<i64>)> = recorded
        .iter()
        .filter(|e| {
            e.status == "resolved"
                && e.resolved_by.is_some()
                && matches!(e.kind.as_str(), "price_mismatch" | "payment_unsecured" | "address_mismatch")
        })
        .map(|e| (e.kind.clone(), line_of(e)))
        .collect();
    ev.holds.retain(|h| !acknowledged.iter().any(|(k, l)| *k == h.kind && h.line.map(|x| x as i64) == *l));
    if ev.holds.is_empty() {
        ev.status = OrderStatus::Accepted;
    }
    store::reprice(tx, id, &ev, now).await?;
    // Holds that went away are resolved; those that remain keep their exception; new ones get one.
    let open: Vec<(Uuid, String, Option<i64>)> = recorded
        .iter()
        .filter(|e| e.status == "open" && e.source == "intake")
        .map(|e| (e.id, e.kind.clone(), line_of(e)))
        .collect();
    let same = |h: &Hold, kind: &str, line: Option<i64>| h.kind == kind && h.line.map(|l| l as i64) == line;
    for (exception, kind, line) in &open {
        if !ev.holds.iter().any(|h| same(h, kind, *line)) {
            crate::platform::exceptions::resolve(tx, *exception, "revalidated", None, now).await?;
        }
    }
    let new: Vec<Hold> =
        ev.holds.iter().filter(|h| !open.iter().any(|(_, k, l)| same(h, k, *l))).cloned().collect();
    store::record_holds(tx, tenant, id, &new, now).await?;
    if ev.holds.is_empty() {
        let e = store::transition(
            tx,
            state,
            tenant,
            id,
            Some(OrderStatus::NeedsReview),
            OrderStatus::Accepted,
            "revalidated",
            actor,
            now,
        )
        .await?;
        Ok((Vec::new(), Some(e)))
    } else {
        Ok((ev.holds, None))
    }
}

/// Who changes an order, why and when.
pub struct Change<'a> {
    pub reason: &'a str,
    pub actor: (&'static str, Option<Uuid>),
    pub now: DateTime<Utc>,
}

/// Holds, releases or cancels `order` where the state machine allows (409 otherwise). A hold
/// remembers the state it left; a release returns there (accepted when it knows none).
pub async fn change(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    order: &Order,
    action: Action,
    how: &Change<'_>,
) -> Result<Envelope, Error> {
    let (from, to) = match action {
        Action::Hold if order.status.can_become(OrderStatus::OnHold) => {
            store::set_held_from(tx, order.id, Some(order.status)).await?;
            (order.status, OrderStatus::OnHold)
        }
        Action::Release if order.status == OrderStatus::OnHold => {
            let back = store::held_from(tx, order.id).await?.unwrap_or(OrderStatus::Accepted);
            store::set_held_from(tx, order.id, None).await?;
            (OrderStatus::OnHold, back)
        }
        Action::Cancel if order.status.can_become(OrderStatus::Cancelled) => {
            (order.status, OrderStatus::Cancelled)
        }
        _ => {
            return Err(Error::Conflict {
                code: "invalid_transition",
                detail: format!("an order in {} cannot be {}", order.status, action.done()),
            });
        }
    };
    let envelope =
        store::transition(tx, state, tenant, order.id, Some(from), to, how.reason, how.actor, how.now)
            .await?;
    if to == OrderStatus::Cancelled {
        // What the order held that is not stock or money (those follow `order.cancelled`).
        let released =
            crate::catalog::release_redemptions(tx, tenant, &order.id.to_string(), how.now).await?;
        if !released.is_empty() {
            let codes: Vec<&str> = released.iter().map(|r| r.code.as_str()).collect();
            let undo = format!("promotion redemptions released: {}", codes.join(", "));
            store::record_undo(tx, tenant, order.id, &undo, ("system", None), how.now).await?;
        }
    }
    Ok(envelope)
}

/// Applies an operator's change to `before` (locked by the caller): every field problem at once
/// (422), re-addressing only while the order is editable, then the action, if any (409 where the
/// state machine refuses). Returns the events to publish after commit.
pub async fn amend(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    before: &Order,
    patch: &OrderPatch,
    actor: (&'static str, Option<Uuid>),
    now: DateTime<Utc>,
) -> Result<Vec<Envelope>, Error> {
    let serviceable = serviceable_states(tx, tenant).await?;
    let action = check_patch(patch, &serviceable)?;
    if (patch.shipping_address.is_some() || patch.billing_address.is_some()) && !before.status.editable() {
        return Err(Error::Conflict {
            code: "invalid_transition",
            detail: format!("an order in {} cannot be re-addressed", before.status),
        });
    }
    store::readdress(
        tx,
        before.id,
        patch.shipping_address.as_ref(),
        patch.billing_address.as_ref(),
        patch.notes.as_deref(),
        now,
    )
    .await?;
    let Some(action) = action else { return Ok(Vec::new()) };
    let how = Change { reason: patch.reason(), actor, now };
    Ok(vec![change(tx, state, tenant, before, action, &how).await?])
}

/// An operator's change checked: every problem at once; the action it asks for, if any.
fn check_patch(patch: &OrderPatch, serviceable: &[String]) -> Result<Option<Action>, Error> {
    let mut errors = Vec::new();
    if let Some(a) = &patch.shipping_address {
        intake::check_address(a, "shipping_address", serviceable, &mut errors);
    }
    if let Some(a) = &patch.billing_address {
        intake::check_address(a, "billing_address", &[], &mut errors);
    }
    if patch.notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        errors.push(crate::platform::error::FieldError::new("notes", "too_long", "at most 2000 characters"));
    }
    let action = match patch.action.as_deref().map(Action::parse) {
        Some(Err(Error::Invalid(e))) => {
            errors.extend(e);
            None
        }
        Some(parsed) => Some(parsed?),
        None => None,
    };
    Error::check(errors)?;
    Ok(action)
}

/// Re-drives an order that is not moving: the step it waits for is run again through a **fresh**
/// event (consumers deduplicate by event id; the old one would be dropped). Safe to repeat: every
/// step is idempotent. `accepted` and `payment_pending` → `order.accepted` (the payment step
/// authorizes, or asks the gateway about the pending payment); `payment_authorized` and
/// `backordered` → `order.payment_authorized` (the stock step reserves, or fills the backorder);
/// `cancelled` → `order.cancelled` (the undo steps finish what they have not); `needs_review` →
/// intake again. What was done, and the events to publish after commit.
pub async fn redrive(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    actor: (&'static str, Option<Uuid>),
    now: DateTime<Utc>,
) -> Result<(String, Vec<Envelope>), Error> {
    let order = store::load(tx, id, true).await?;
    let step = match order.status {
        OrderStatus::Accepted | OrderStatus::PaymentPending => OrderStatus::Accepted,
        OrderStatus::PaymentAuthorized | OrderStatus::Backordered => OrderStatus::PaymentAuthorized,
        // What its cancellation has not undone yet (the undo steps are idempotent).
        OrderStatus::Cancelled => OrderStatus::Cancelled,
        OrderStatus::NeedsReview => {
            let (holds, event) = revalidate_order(tx, state, tenant, id, actor, now).await?;
            let what = match &event {
                Some(_) => "revalidated: accepted".to_owned(),
                None => format!(
                    "revalidated: still held ({})",
                    holds.iter().map(|h| h.kind.as_str()).collect::<Vec<_>>().join(", ")
                ),
            };
            return Ok((what, event.into_iter().collect()));
        }
        OrderStatus::OnHold => {
            return Err(Error::Conflict {
                code: "order_on_hold",
                detail: format!(
                    "order {} is on hold: release it (PATCH /api/v1/orders/{id} with action release)",
                    order.number
                ),
            });
        }
        OrderStatus::PaymentFailed => {
            return Err(Error::Conflict {
                code: "order_payment_failed",
                detail: format!(
                    "order {}'s payment failed: retry it with a payment method (POST /api/v1/orders/{id}/payment)",
                    order.number
                ),
            });
        }
        other => {
            return Err(Error::Conflict {
                code: "not_retryable",
                detail: format!("order {} is {other}: no pipeline step waits for it", order.number),
            });
        }
    };
    let kind = step.event();
    let envelope = store::record_event(tx, state, tenant, id, kind, order.status, now).await?;
    Ok((
        format!("{} published again for order {} ({})", kind.as_str(), order.number, order.status),
        vec![envelope],
    ))
}
