//! A tenant's channels and the webhooks of Shopify and WooCommerce.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::Principal;
use crate::orders::model::{Channel, NewChannel, Receipt};
use crate::orders::service::channels::{self as service, Adapter};
use crate::orders::store::channels as store;
use crate::orders::{shopify, woocommerce};
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, read_body};
use crate::platform::state::AppState;

/// Adds a channel to the acting tenant; its webhook secret is shown once.
#[utoipa::path(post, path = "/api/v1/channels", operation_id = "channels_create", tag = "orders",
    request_body = NewChannel, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (with the secret, once)", body = Channel),
        (status = 409, description = "The code is taken", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewChannel>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let checked = req.check()?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let made = service::create(&state, &tx, principal.tenant, checked, principal.now).await?;
    let shown = Channel { secret: None, ..made.clone() };
    audit::record(&tx, &principal, Entry::new("channel.created", "channel", made.id).after(&shown)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// The acting tenant's channels.
#[utoipa::path(get, path = "/api/v1/channels", operation_id = "channels_list", tag = "orders",
    security(("bearer" = [])),
    responses((status = 200, description = "Every channel", body = Vec<Channel>)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<Channel>>, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = store::list(&tx, principal.tenant).await?;
    tx.commit().await?;
    Ok(Json(rows))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// `created`, `updated`, `cancelled`, `refused` (intake refused the order: kept as an
    /// `intake_rejected` exception), `duplicate`, `ignored` or `ping`.
    pub outcome: String,
    pub order_id: Option<Uuid>,
    pub status: Option<String>,
}

fn answer(r: Receipt) -> Response {
    let (order_id, status) = r.order.map_or((None, None), |(i, s)| (Some(i), Some(s)));
    (StatusCode::OK, Json(WebhookReceipt { outcome: r.outcome.into(), order_id, status })).into_response()
}

async fn deliver(
    state: &AppState,
    adapter: &Adapter,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    Ok(answer(service::receive(state, adapter, id, headers, body).await?))
}

/// Shopify's `orders/create`, `orders/updated` and `orders/cancelled` for one of the tenant's
/// channels: `X-Shopify-Hmac-Sha256` verified over the raw body; deduplicated on the event id
/// (else the webhook id).
#[utoipa::path(post, path = "/api/v1/webhooks/shopify/{id}", operation_id = "webhooks_shopify", tag = "channels",
    params(("id" = Uuid, Path, description = "Channel id")),
    responses(
        (status = 200, description = "Handled: created, updated, cancelled, refused (kept as an exception), a duplicate, or a topic not used", body = WebhookReceipt),
        (status = 400, description = "A signed body that is not JSON", body = crate::Problem),
        (status = 401, description = "The signature does not verify; nothing written", body = crate::Problem),
        (status = 403, description = "The channel is switched off", body = crate::Problem),
        (status = 404, description = "No channel of this kind with this id", body = crate::Problem),
        (status = 422, description = "A delivery with nothing to deduplicate on", body = crate::Problem),
    ))]
pub async fn shopify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let body = read_body(request, &()).await?;
    deliver(&state, &shopify::ADAPTER, &id, &headers, &body).await
}

/// WooCommerce's `order.created` and `order.updated` for one of the tenant's channels:
/// `X-WC-Webhook-Signature` verified over the raw body; the unsigned ping sent when the webhook is
/// created is answered 200; deduplicated on (source, order id, modification time).
#[utoipa::path(post, path = "/api/v1/webhooks/woocommerce/{id}", operation_id = "webhooks_woocommerce", tag = "channels",
    params(("id" = Uuid, Path, description = "Channel id")),
    responses(
        (status = 200, description = "Handled: created, updated, cancelled, refused (kept as an exception), the ping, a duplicate, or a topic not used", body = WebhookReceipt),
        (status = 400, description = "A signed body that is not JSON", body = crate::Problem),
        (status = 401, description = "The signature does not verify; nothing written", body = crate::Problem),
        (status = 403, description = "The channel is switched off", body = crate::Problem),
        (status = 404, description = "No channel of this kind with this id", body = crate::Problem),
        (status = 422, description = "A delivery with nothing to deduplicate on", body = crate::Problem),
    ))]
pub async fn woocommerce(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let body = read_body(request, &()).await?;
    if woocommerce::is_ping(&headers, &body) {
        return Ok(answer(Receipt { outcome: "ping", order: None }));
    }
    deliver(&state, &woocommerce::ADAPTER, &id, &headers, &body).await
}
