//! The order routes: intake (`POST /api/v1/orders`, `/validate`), list, get, change (addresses,
//! notes, hold / release / cancel), and revalidation of a held order.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Transaction;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::intake::{self, Context, Evaluation, Hold};
use super::model::{Order, OrderStatus, Origin};
use super::store;
use super::{Address, OrderInput, idempotency};
use crate::identity::principal::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::events::Envelope;
use crate::platform::http::{ApiJson, ApiQuery, parse_json, path_id};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// The tenant's serviceable US states (`orders.serviceable_states`; empty: anywhere).
pub async fn serviceable_states(tx: &Transaction<'_>, tenant: TenantId) -> Result<Vec<String>, ApiError> {
    let row = tx
        .query_opt(
            "SELECT value FROM tenant_settings WHERE tenant_id = $1 AND key = 'orders.serviceable_states'",
            &[&tenant.as_uuid()],
        )
        .await?;
    Ok(row
        .and_then(|r| r.get::<_, serde_json::Value>(0).as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

async fn context(tx: &Transaction<'_>, p: &Principal) -> Result<Context, ApiError> {
    Ok(Context {
        tenant: p.tenant,
        at: p.now,
        channel: None,
        serviceable_states: serviceable_states(tx, p.tenant).await?,
    })
}

/// How a principal appears in an order's history: its API key, or the person.
fn actor_of(p: &Principal) -> (&'static str, Option<Uuid>) {
    match p.key_id {
        Some(k) => ("api_key", Some(k)),
        None => ("user", Some(p.user_id)),
    }
}

fn origin_of(p: &Principal, key: Option<String>) -> Origin {
    let source = match p.key_id {
        Some(_) => "api",
        None if p.cross_tenant => "admin",
        None => "portal",
    };
    let actor = actor_of(p);
    Origin {
        source,
        channel_id: None,
        actor,
        placed_by: Some(p.user_id),
        idempotency_key: key,
        profile_version: None,
    }
}

fn input_of(body: &serde_json::Value) -> Result<OrderInput, ApiError> {
    parse_json(body.to_string().as_bytes())
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

/// Takes an order: validated, SKUs mapped, priced, and `accepted` — or `needs_review` with the
/// problems held as exceptions — or refused with every problem (422). With `Idempotency-Key`, a
/// duplicate while it runs gets 409, the key with another body 422, and a finished one its
/// response again (24 h).
#[utoipa::path(post, path = "/api/v1/orders", operation_id = "orders_create", tag = "orders",
    request_body = OrderInput, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Taken (accepted or needs_review)", body = Order),
        (status = 200, description = "Already taken with this key or channel order id", body = Order),
        (status = 409, description = "The same key is still being processed", body = crate::Problem),
        (status = 422, description = "Refused: every problem listed; nothing written", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let key = idempotency::parse(headers.get("idempotency-key"))?;
    let channel =
        headers.get("x-channel").and_then(|v| v.to_str().ok()).map(str::trim).filter(|c| !c.is_empty());
    let custom = match channel {
        Some(code) => Some(custom_channel(&state, &principal, code, &body).await?),
        None => None,
    };
    let input = match &custom {
        Some((_, input)) => input.clone(),
        None => input_of(&body)?,
    };
    if let Some(k) = &key {
        let fp = idempotency::fingerprint(body.to_string().as_bytes());
        if let idempotency::Claimed::Replay(status, stored) =
            idempotency::claim(&state, principal.tenant, k, &fp).await?
        {
            let mut res =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), Json(stored)).into_response();
            res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(res);
        }
    }
    let result = async {
        let mut conn = state.db().await?.conn().await?;
        let tx = principal.tx(&mut conn).await?;
        let mut ctx = context(&tx, &principal).await?;
        let mut origin = origin_of(&principal, key.clone());
        if let Some((c, _)) = &custom {
            ctx.channel = Some((c.code.clone(), c.tolerance));
            (origin.source, origin.channel_id, origin.profile_version) =
                ("custom", Some(c.id), Some(c.version));
        }
        let (status, order, envelopes) = take(&state, &tx, &ctx, &origin, &input).await?;
        tx.commit().await?;
        // Committed: the relay publishes whatever this misses; the caller gets its order.
        if let Err(e) = crate::platform::events::publish_committed(&state, &envelopes).await {
            tracing::warn!(error = %e, "order events left to the relay");
        }
        Ok((status, order))
    }
    .await;
    match (result, &key) {
        (Ok((status, order)), Some(k)) => {
            let body = serde_json::to_value(&order).map_err(ApiError::internal)?;
            if let Err(e) = idempotency::finish(&state, principal.tenant, k, status.as_u16(), &body).await {
                // The order is committed; a retry finds it through the database's unique key.
                tracing::warn!(error = %e, "idempotency record not completed");
            }
            Ok((status, Json(body)).into_response())
        }
        (Ok((status, order)), None) => Ok((status, Json(order)).into_response()),
        (Err(e), Some(k)) => {
            idempotency::release(&state, principal.tenant, k).await;
            Err(e)
        }
        (Err(e), None) => Err(e),
    }
}

/// A custom channel named by `X-Channel`: its payload read through its newest profile.
pub struct CustomChannel {
    pub id: Uuid,
    pub code: String,
    pub tolerance: i32,
    pub version: i32,
}

async fn custom_channel(
    state: &AppState,
    p: &Principal,
    code: &str,
    body: &serde_json::Value,
) -> Result<(CustomChannel, OrderInput), ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = p.tx(&mut conn).await?;
    let row = tx
        .query_opt(
            "SELECT id, code, price_tolerance_bp FROM channels WHERE tenant_id = $1 AND code = $2 AND kind = 'custom' AND active",
            &[&p.tenant.as_uuid(), &code.to_lowercase()],
        )
        .await?
        .ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new("header:x-channel", "unknown_channel", format!("no active custom channel {code:?}"))])
        })?;
    let id: Uuid = row.get(0);
    let (version, rules) = super::profiles::latest(&tx, id).await?.ok_or_else(|| {
        ApiError::Validation(vec![FieldError::new(
            "header:x-channel",
            "no_profile",
            format!("channel {code:?} has no field-mapping profile"),
        )])
    })?;
    tx.commit().await?;
    let input = super::profiles::apply(&rules, body)?;
    Ok((CustomChannel { id, code: row.get(1), tolerance: row.get(2), version }, input))
}

/// Runs the intake pipeline on an order and says what would happen, writing nothing: the
/// evaluation (status, lines, amounts, holds) or every problem (422).
#[utoipa::path(post, path = "/api/v1/orders/validate", operation_id = "orders_validate", tag = "orders",
    request_body = OrderInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "What intake would make of it", body = Evaluation),
        (status = 422, description = "Every problem", body = crate::Problem),
    ))]
pub async fn validate(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<Evaluation>, ApiError> {
    let input = input_of(&body)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let ctx = context(&tx, &principal).await?;
    let ev = intake::evaluate(&tx, &ctx, &input).await?;
    tx.rollback().await?;
    Ok(Json(ev))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    pub status: Option<String>,
    pub channel_id: Option<Uuid>,
    /// `admin`, `portal`, `api`, `shopify`, `woocommerce` or `custom`.
    pub source: Option<String>,
    /// Placed at or after (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Placed before (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Orders with a line of this SKU (platform or tenant), any case.
    pub sku: Option<String>,
    pub customer_email: Option<String>,
    pub external_id: Option<String>,
}

/// The acting tenant's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", operation_id = "orders_list", tag = "orders",
    params(OrderFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = inline(Page<Order>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<OrderFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Order>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let own = (principal.scope == crate::identity::roles::Scope::Own).then_some(principal.user_id);
    let rows = tx
        .query(
            &format!(
                "{} WHERE o.tenant_id = $1 AND ($2::text IS NULL OR o.status = $2) AND ($3::uuid IS NULL OR o.channel_id = $3)
                   AND ($4::text IS NULL OR o.source = $4) AND ($5::timestamptz IS NULL OR o.placed_at >= $5)
                   AND ($6::timestamptz IS NULL OR o.placed_at < $6)
                   AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id
                        AND (lower(l.platform_sku) = lower($7) OR lower(l.tenant_sku) = lower($7))))
                   AND ($8::text IS NULL OR lower(o.customer_email) = lower($8))
                   AND ($9::text IS NULL OR o.external_id = $9) AND ($10::uuid IS NULL OR o.placed_by = $10)
                   AND ($11::uuid IS NULL OR o.id < $11)
                 ORDER BY o.id DESC LIMIT $12",
                store::SELECT
            ),
            &[
                &principal.tenant.as_uuid(),
                &f.status,
                &f.channel_id,
                &f.source,
                &f.since,
                &f.until,
                &f.sku,
                &f.customer_email,
                &f.external_id,
                &own,
                &cursor,
                &(limit + 1),
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(store::order).collect(), limit, |o: &Order| o.id)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: Option<String>,
    pub actor_kind: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderEventEntry {
    pub id: Uuid,
    pub event_type: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionEntry {
    pub id: Uuid,
    pub kind: String,
    pub severity: String,
    pub status: String,
    pub detail: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub resolution: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: Order,
    pub history: Vec<HistoryEntry>,
    pub events: Vec<OrderEventEntry>,
    pub exceptions: Vec<ExceptionEntry>,
}

/// 404 for an order the caller may see only if it is their own (`own` scope) and is not.
fn visible(p: &Principal, order: &Order) -> Result<(), ApiError> {
    if p.scope == crate::identity::roles::Scope::Own && order.placed_by != Some(p.user_id) {
        return Err(ApiError::NotFound(format!("order {}", order.id)));
    }
    Ok(())
}

async fn detail(tx: &Transaction<'_>, id: Uuid) -> Result<OrderDetail, ApiError> {
    let order = store::load(tx, id, false).await?;
    let history = tx
        .query(
            "SELECT from_status, to_status, reason, actor_kind, at FROM order_status_history WHERE order_id = $1 ORDER BY at, id",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| HistoryEntry { from_status: r.get(0), to_status: r.get(1), reason: r.get(2), actor_kind: r.get(3), at: r.get(4) })
        .collect();
    let events = tx
        .query("SELECT id, event_type, data, at FROM order_events WHERE order_id = $1 ORDER BY id", &[&id])
        .await?
        .iter()
        .map(|r| OrderEventEntry { id: r.get(0), event_type: r.get(1), data: r.get(2), at: r.get(3) })
        .collect();
    let exceptions = crate::platform::exceptions::for_order(tx, id)
        .await?
        .into_iter()
        .map(|e| ExceptionEntry {
            id: e.id,
            kind: e.kind,
            severity: e.severity,
            status: e.status,
            detail: e.detail,
            details: e.details,
            resolution: e.resolution,
            created_at: e.created_at,
        })
        .collect();
    Ok(OrderDetail { order, history, events, exceptions })
}

/// One order with its lines, status history, events and exceptions.
#[utoipa::path(get, path = "/api/v1/orders/{id}", operation_id = "orders_get", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The order", body = OrderDetail),
        (status = 404, description = "No such order", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderDetail>, ApiError> {
    let id = path_id(&id, "an order")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let found = detail(&tx, id).await?;
    visible(&principal, &found.order)?;
    tx.commit().await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPatch {
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub notes: Option<String>,
    /// `hold`, `release` or `cancel`.
    pub action: Option<String>,
    /// Why (kept in the status history).
    pub reason: Option<String>,
}

/// Changes an order's addresses or notes, or holds, releases or cancels it where the state
/// machine allows (409 otherwise).
#[utoipa::path(patch, path = "/api/v1/orders/{id}", operation_id = "orders_update", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")), request_body = OrderPatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = OrderDetail),
        (status = 404, description = "No such order", body = crate::Problem),
        (status = 409, description = "Not allowed in the order's state", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<OrderPatch>,
) -> Result<Json<OrderDetail>, ApiError> {
    let id = path_id(&id, "an order")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = store::load(&tx, id, true).await?;
    visible(&principal, &before)?;
    let serviceable = serviceable_states(&tx, principal.tenant).await?;
    let mut errors = Vec::new();
    if let Some(a) = &req.shipping_address {
        check_one_address(a, "shipping_address", &serviceable, &mut errors);
    }
    if let Some(a) = &req.billing_address {
        check_one_address(a, "billing_address", &[], &mut errors);
    }
    if req.notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        errors.push(FieldError::new("notes", "too_long", "at most 2000 characters"));
    }
    let reason =
        req.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).unwrap_or("by an operator").to_owned();
    crate::platform::validate::check(errors)?;
    let conflict = |what: &str| ApiError::Conflict {
        code: "invalid_transition",
        detail: format!("an order in {} cannot be {what}", before.status),
    };
    if (req.shipping_address.is_some() || req.billing_address.is_some()) && !before.status.editable() {
        return Err(conflict("re-addressed"));
    }
    let addr = |a: &Option<Address>| a.as_ref().and_then(|a| serde_json::to_value(a).ok());
    tx.execute(
        "UPDATE orders SET shipping_address = COALESCE($2, shipping_address), billing_address = COALESCE($3, billing_address),
                notes = COALESCE($4, notes), updated_at = $5 WHERE id = $1",
        &[&id, &addr(&req.shipping_address), &addr(&req.billing_address), &req.notes, &principal.now],
    )
    .await?;
    let actor = actor_of(&principal);
    let mut envelopes = Vec::new();
    match req.action.as_deref() {
        None => {}
        Some("hold") if before.status.can_become(OrderStatus::OnHold) => {
            store::set_held_from(&tx, id, Some(before.status)).await?;
            let e = store::transition(
                &tx,
                &state,
                principal.tenant,
                id,
                Some(before.status),
                OrderStatus::OnHold,
                &reason,
                actor,
                principal.now,
            )
            .await?;
            envelopes.push(e);
        }
        Some("release") if principal.scope == crate::identity::roles::Scope::Own => {
            return Err(ApiError::Forbidden("releasing a hold needs orders:update for the tenant".into()));
        }
        Some("release") if before.status == OrderStatus::OnHold => {
            let back = store::held_from(&tx, id).await?.unwrap_or(OrderStatus::Accepted);
            store::set_held_from(&tx, id, None).await?;
            let e = store::transition(
                &tx,
                &state,
                principal.tenant,
                id,
                Some(OrderStatus::OnHold),
                back,
                &reason,
                actor,
                principal.now,
            )
            .await?;
            envelopes.push(e);
        }
        Some("cancel") if before.status.can_become(OrderStatus::Cancelled) => {
            let e = store::transition(
                &tx,
                &state,
                principal.tenant,
                id,
                Some(before.status),
                OrderStatus::Cancelled,
                &reason,
                actor,
                principal.now,
            )
            .await?;
            envelopes.push(e);
        }
        Some(a @ ("hold" | "release" | "cancel")) => {
            return Err(conflict(&format!("{a}ed").replace("holded", "held")));
        }
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "action",
                "invalid",
                "hold, release or cancel",
            )]));
        }
    }
    let after = detail(&tx, id).await?;
    let entry = Entry::new("order.updated", "order", id)
        .before(serde_json::json!({ "status": before.status, "shipping_address": before.shipping_address, "notes": before.notes }))
        .after(serde_json::json!({ "status": after.order.status, "shipping_address": after.order.shipping_address, "notes": after.order.notes, "action": req.action }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    crate::platform::events::publish_committed(&state, &envelopes).await?;
    Ok(Json(after))
}

fn check_one_address(a: &Address, at: &str, serviceable: &[String], errors: &mut Vec<FieldError>) {
    intake::check_address(a, at, serviceable, errors);
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
        Some(c) => tx
            .query_opt("SELECT code, price_tolerance_bp FROM channels WHERE id = $1", &[&c])
            .await?
            .map(|r| (r.get(0), r.get(1))),
        None => None,
    };
    let ctx = Context { tenant, at: now, channel, serviceable_states: serviceable_states(tx, tenant).await? };
    let list_priced = order.pricing.get("source").and_then(|s| s.as_str()) == Some("price_list");
    let input = OrderInput {
        external_id: order.external_id.clone(),
        currency: order.currency.clone(),
        customer: super::Customer {
            email: order.customer_email.clone(),
            name: order.customer_name.clone(),
            phone: None,
        },
        shipping_address: order.shipping_address.clone().and_then(|a| serde_json::from_value(a).ok()),
        billing_address: order.billing_address.clone().and_then(|a| serde_json::from_value(a).ok()),
        lines: order
            .lines
            .iter()
            .map(|l| super::LineInput {
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
        payment: super::Payment {
            source: order.payment_source.clone(),
            token: tx.query_one("SELECT payment_token FROM orders WHERE id = $1", &[&id]).await?.get(0),
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
    for (i, l) in ev.lines.iter().enumerate() {
        tx.execute(
            "UPDATE order_lines SET product_id = $3, platform_sku = $4, unit_price_minor = $5, discount_minor = $6,
                    total_minor = $7 WHERE order_id = $1 AND line_no = $2",
            &[&id, &(i as i32 + 1), &l.product_id, &l.platform_sku, &l.unit_price, &l.discount, &l.total],
        )
        .await?;
    }
    tx.execute(
        "UPDATE orders SET subtotal_minor = $2, discount_minor = $3, total_minor = $4, pricing = $5, updated_at = $6 WHERE id = $1",
        &[&id, &ev.subtotal, &ev.discount, &ev.total, &ev.pricing, &now],
    )
    .await?;
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

/// Runs a held order (`needs_review`) through intake again now; it is accepted if it passes.
#[utoipa::path(post, path = "/api/v1/orders/{id}/revalidate", operation_id = "orders_revalidate", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The order after revalidation", body = OrderDetail),
        (status = 404, description = "No such order", body = crate::Problem),
        (status = 409, description = "Not in needs_review", body = crate::Problem),
    ))]
pub async fn revalidate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderDetail>, ApiError> {
    let id = path_id(&id, "an order")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let actor = actor_of(&principal);
    let (holds, envelope) = revalidate_order(&tx, &state, principal.tenant, id, actor, principal.now).await?;
    let after = detail(&tx, id).await?;
    let entry = Entry::new("order.revalidated", "order", id)
        .after(serde_json::json!({ "status": after.order.status, "holds": holds }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    crate::platform::events::publish_committed(&state, &envelope.into_iter().collect::<Vec<_>>()).await?;
    Ok(Json(after))
}
