//! The order routes: intake (`POST /api/v1/orders`, `/validate`), list, get, change (addresses,
//! notes, hold / release / cancel), and revalidation of a held order.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Transaction;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::Principal;
use crate::orders::OrderInput;
use crate::orders::model::{HistoryEntry, Order, OrderEventEntry, OrderFilter, OrderPatch, Origin};
use crate::orders::service::intake::{self, Evaluation};
use crate::orders::service::orders::{amend, context, revalidate_order, take, with_defaults};
use crate::orders::service::profiles::{CustomChannel, read_custom};
use crate::orders::store::orders as store;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, ApiQuery, parse_json, path_id};
use crate::platform::idempotency;
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;

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

/// Marks the answer for an order that already existed (200): `Order-Existed: true`.
fn existed(mut res: Response) -> Response {
    if res.status() == StatusCode::OK {
        res.headers_mut().insert("order-existed", HeaderValue::from_static("true"));
    }
    res
}

/// Takes an order: validated, SKUs mapped, priced, and `accepted` — or `needs_review` with the
/// problems held as exceptions — or refused with every problem (422). With `Idempotency-Key`, a
/// duplicate while it runs gets 409, the key with another body 422, and a finished one its
/// response again (24 h).
#[utoipa::path(post, path = "/api/v1/orders", operation_id = "orders_create", tag = "orders",
    request_body(content = OrderInput, description = "The order; the product brief's field names \
        (`externalId`, `lineItems`, `shippingAddress`, `street`, `zip`, ...) are accepted as aliases, and \
        currency and payment default to the tenant's",
        example = json!({"externalId": "ORDER-12345", "customer": {"email": "customer@example.com", "name": "John Doe"},
            "lineItems": [{"sku": "TENANT-SKU-001", "quantity": 2}],
            "shippingAddress": {"street": "123 Main St", "city": "Austin", "state": "TX", "zip": "78701", "country": "US"}})),
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Taken (accepted or needs_review)", body = Order),
        (status = 200, description = "Already taken with this key, or this external id and the same body", body = Order,
            headers(("order-existed" = String, description = "`true`: the order already existed"))),
        (status = 409, description = "The same key is still being processed, or the external id was taken \
            with another body (`external_id_conflict`, naming the order)", body = crate::Problem),
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
            idempotency::claim(&state, idempotency::Scope::ORDER, principal.tenant, k, &fp).await?
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
        let input = with_defaults(&tx, principal.tenant, input).await?;
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
            if let Err(e) = idempotency::finish(
                &state,
                idempotency::Scope::ORDER,
                principal.tenant,
                k,
                status.as_u16(),
                &body,
            )
            .await
            {
                // The order is committed; a retry finds it through the database's unique key.
                tracing::warn!(error = %e, "idempotency record not completed");
            }
            Ok(existed((status, Json(body)).into_response()))
        }
        (Ok((status, order)), None) => Ok(existed((status, Json(order)).into_response())),
        (Err(e), Some(k)) => {
            idempotency::release(&state, idempotency::Scope::ORDER, principal.tenant, k).await;
            Err(e)
        }
        (Err(e), None) => Err(e),
    }
}

async fn custom_channel(
    state: &AppState,
    p: &Principal,
    code: &str,
    body: &serde_json::Value,
) -> Result<(CustomChannel, OrderInput), ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = p.tx(&mut conn).await?;
    let read = read_custom(&tx, p.tenant, code, body).await?;
    tx.commit().await?;
    Ok(read)
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
    let input = with_defaults(&tx, principal.tenant, input).await?;
    let ev = intake::evaluate(&tx, &ctx, &input).await?;
    tx.rollback().await?;
    Ok(Json(ev))
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
    let own = (principal.scope == crate::identity::Scope::Own).then_some(principal.user_id);
    let rows = store::list(&tx, principal.tenant, &f, own, limit, cursor).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |o: &Order| o.id)))
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
    if p.scope == crate::identity::Scope::Own && order.placed_by != Some(p.user_id) {
        return Err(ApiError::NotFound(format!("order {}", order.id)));
    }
    Ok(())
}

async fn detail(tx: &Transaction<'_>, id: Uuid) -> Result<OrderDetail, ApiError> {
    let order = store::load(tx, id, false).await?;
    let history = store::history(tx, id).await?;
    let events = store::events(tx, id).await?;
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
    if req.action.as_deref() == Some("release") && principal.scope == crate::identity::Scope::Own {
        return Err(ApiError::Forbidden("releasing a hold needs orders:update for the tenant".into()));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = store::load(&tx, id, true).await?;
    visible(&principal, &before)?;
    let envelopes =
        amend(&tx, &state, principal.tenant, &before, &req, actor_of(&principal), principal.now).await?;
    let after = detail(&tx, id).await?;
    let entry = Entry::new("order.updated", "order", id)
        .before(serde_json::json!({ "status": before.status, "shipping_address": before.shipping_address, "notes": before.notes }))
        .after(serde_json::json!({ "status": after.order.status, "shipping_address": after.order.shipping_address, "notes": after.order.notes, "action": req.action }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    crate::platform::events::publish_committed(&state, &envelopes).await?;
    Ok(Json(after))
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
