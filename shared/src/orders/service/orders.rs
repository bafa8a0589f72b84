//! The order rules the handlers and consumers share: taking an order through intake, and running
//! a held one through it again.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::intake::{self, Context, Hold};
use crate::identity::Principal;
use crate::orders::model::{Order, OrderInput, OrderStatus, Origin};
use crate::orders::store::orders as store;
use crate::platform::error::ApiError;
use crate::platform::events::Envelope;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// The tenant's serviceable US states (`orders.serviceable_states`; empty: anywhere).
pub async fn serviceable_states(tx: &Transaction<'_>, tenant: TenantId) -> Result<Vec<String>, ApiError> {
    let row = crate::identity::tenant_setting(tx, tenant, "orders.serviceable_states").await?;
    Ok(row
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

pub async fn context(tx: &Transaction<'_>, p: &Principal) -> Result<Context, ApiError> {
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
) -> Result<(StatusCode, Order, Vec<Envelope>), ApiError> {
    if let Some(id) = store::existing(tx, ctx.tenant, origin, input.external_id.as_deref()).await? {
        return Ok((StatusCode::OK, store::load(tx, id, false).await?, Vec::new()));
    }
    let ev = intake::evaluate(tx, ctx, input).await?;
    match store::insert(tx, state, ctx.tenant, origin, input, &ev, ctx.at).await? {
        Some((id, envelope)) => Ok((StatusCode::CREATED, store::load(tx, id, false).await?, vec![envelope])),
        // Another request made it between our look and our insert: the constraints kept it to one.
        None => Err(ApiError::Conflict {
            code: "request_in_progress",
            detail: "the same order is being created by another request; retry to get it".into(),
        }),
    }
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
) -> Result<(Vec<Hold>, Option<Envelope>), ApiError> {
    let order = store::load(tx, id, true).await?;
    if order.status != OrderStatus::NeedsReview {
        return Err(ApiError::Conflict {
            code: "invalid_transition",
            detail: format!("only an order in needs_review is revalidated; this one is {}", order.status),
        });
    }
    let channel = match order.channel_id {
        Some(c) => store::channel_terms(tx, c).await?,
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
            status: order.payment_status.clone(),
            reference: order.payment_reference.clone(),
        },
        promotion_codes: order.promotion_codes.clone(),
        notes: order.notes.clone(),
    };
    let mut ev = intake::evaluate(tx, &ctx, &input).await?;
    // A price or payment hold a person resolved (accepted the channel's price, confirmed the
    // payment) no longer holds the order; an unknown SKU only goes away with its mapping.
    let recorded = crate::platform::exceptions::for_order(tx, id).await?;
    let line_of = |e: &crate::platform::exceptions::Exception| {
        e.details.get("line").and_then(serde_json::Value::as_i64)
    };
    let acknowledged: Vec<(String, Option<i64>)> = recorded
        .iter()
        .filter(|e| {
            e.status == "resolved"
                && e.resolved_by.is_some()
                && matches!(e.kind.as_str(), "price_mismatch" | "payment_unsecured")
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
