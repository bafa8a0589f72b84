//! A tenant's channels and the webhooks of Shopify and WooCommerce.
//!
//! A channel has a code (the name SKU mappings use), a kind, a price tolerance and, for webhook
//! channels, a secret sealed at rest (shown once). A webhook is verified over the raw body in
//! constant time before anything is read (a bad signature: 401, nothing written); deliveries are
//! deduplicated (Shopify: its event id, else its webhook id; WooCommerce: the order id and its
//! modification time, since its delivery id is useless); the payload becomes an [`OrderInput`] and
//! goes through the same intake as every order.

use aws_lc_rs::hmac;
use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::Principal;
use crate::orders::model::{OrderStatus, Origin};
use crate::orders::service::intake::Context;
use crate::orders::service::orders::{revalidate_order, serviceable_states, take};
use crate::orders::store::orders as store;
use crate::orders::{Address, Customer, LineInput, OrderInput, Payment};
use crate::platform::audit::{self, Entry};
use crate::platform::db::{scope_tenant, scoped_tx};
use crate::platform::error::{ApiError, FieldError, unique_violation};
use crate::platform::exceptions::{self, NewException, Severity};
use crate::platform::http::{ApiJson, read_body};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const KINDS: &[&str] = &["shopify", "woocommerce", "custom", "portal"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Channel {
    pub id: Uuid,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub price_tolerance_bp: i32,
    pub active: bool,
    /// Where the channel posts its webhooks (Shopify and WooCommerce).
    pub webhook_path: Option<String>,
    /// Shown once, at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn webhook_path(kind: &str, id: Uuid) -> Option<String> {
    matches!(kind, "shopify" | "woocommerce").then(|| format!("/api/v1/webhooks/{kind}/{id}"))
}

fn channel(r: &tokio_postgres::Row) -> Channel {
    let (id, kind): (Uuid, String) = (r.get(0), r.get(2));
    Channel {
        id,
        code: r.get(1),
        webhook_path: webhook_path(&kind, id),
        kind,
        name: r.get(3),
        price_tolerance_bp: r.get(4),
        active: r.get(5),
        secret: None,
        created_at: r.get(6),
    }
}

const SELECT: &str =
    "SELECT c.id, c.code, c.kind, c.name, c.price_tolerance_bp, c.active, c.created_at FROM channels c";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// a-z, 0-9, `_`, `-`: the channel name SKU mappings use.
    pub code: String,
    /// `shopify`, `woocommerce`, `custom` or `portal`.
    pub kind: String,
    pub name: String,
    /// The webhook secret (Shopify: the app's client secret; WooCommerce: the webhook's secret).
    /// Generated when absent.
    pub secret: Option<String>,
    /// Default 500 (5 %).
    pub price_tolerance_bp: Option<i32>,
}

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
    let mut errors = Vec::new();
    let code = req.code.trim().to_lowercase();
    if !crate::platform::validate::code_name(&code) {
        errors.push(FieldError::new(
            "code",
            "invalid",
            "1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit",
        ));
    }
    if !KINDS.contains(&req.kind.as_str()) {
        errors.push(FieldError::new("kind", "invalid", "shopify, woocommerce, custom or portal"));
    }
    let name = crate::platform::validate::text(&req.name, "name", 200, &mut errors);
    if req.price_tolerance_bp.is_some_and(|t| !(0..=10_000).contains(&t)) {
        errors.push(FieldError::new("price_tolerance_bp", "out_of_range", "0 to 10000"));
    }
    if req.secret.as_ref().is_some_and(|s| s.len() < 16 || s.len() > 200) {
        errors.push(FieldError::new("secret", "invalid", "16 to 200 characters"));
    }
    crate::platform::validate::check(errors)?;
    let id = Uuid::now_v7();
    let secret = match req.secret {
        Some(s) => s,
        None => {
            let mut bytes = [0u8; 32];
            aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ApiError::internal("random generator failed"))?;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        }
    };
    let sealed = seal_secret(&state, id, &secret).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    tx.execute(
        "INSERT INTO channels (id, tenant_id, code, kind, name, secret_sealed, price_tolerance_bp, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        &[&id, &principal.tenant.as_uuid(), &code, &req.kind, &name, &sealed, &req.price_tolerance_bp.unwrap_or(500), &principal.now],
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => ApiError::Conflict { code: "code_taken", detail: format!("a channel has the code {code:?}") },
        None => e.into(),
    })?;
    let mut made = crate::platform::db::by_id(&tx, SELECT, "c", id, false, "channel", channel).await?;
    audit::record(&tx, &principal, Entry::new("channel.created", "channel", id).after(&made)).await?;
    tx.commit().await?;
    made.secret = Some(secret);
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
    let rows = tx
        .query(&format!("{SELECT} WHERE c.tenant_id = $1 ORDER BY c.code"), &[&principal.tenant.as_uuid()])
        .await?;
    tx.commit().await?;
    Ok(Json(rows.iter().map(channel).collect()))
}

/// A channel's webhook secret as stored: AES-256-GCM with the data key, bound to the channel id.
pub async fn seal_secret(state: &AppState, channel: Uuid, secret: &str) -> Result<Vec<u8>, ApiError> {
    Ok(crate::platform::crypto::seal(
        &crate::platform::crypto::sealing_key(state).await?,
        channel,
        secret.as_bytes(),
    )?)
}

// ---------------------------------------------------------------------------------------------
// Webhooks

fn unauthenticated() -> ApiError {
    ApiError::Unauthenticated("the webhook signature does not verify".into())
}

/// Verifies `base64(HMAC-SHA256(secret, body))` in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(tag) = header.and_then(|h| B64.decode(h.trim()).ok()) else { return false };
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), body, &tag).is_ok()
}

pub fn sign(secret: &[u8], body: &[u8]) -> String {
    B64.encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), body).as_ref())
}

/// A decimal amount (`"403.00"`, `12`, `3.5`) in minor units of a two-decimal currency, exactly.
pub fn minor_units(v: &Value) -> Option<i64> {
    let text = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 {
        return None;
    }
    let cents: i64 = format!("{frac:0<2}").parse().ok()?;
    let amount = whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)?;
    Some(if neg { -amount } else { amount })
}

/// An id as text (Shopify's exceed 2^53: kept exact), or `None`.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Collects the payload's problems as field errors.
struct Reader {
    errors: Vec<FieldError>,
}

impl Reader {
    fn money(&mut self, v: &Value, at: &str) -> Option<i64> {
        if v.is_null() {
            return None;
        }
        let m = minor_units(v);
        if m.is_none() {
            self.errors.push(FieldError::new(at, "invalid", "a decimal amount with at most two decimals"));
        }
        m
    }
}

fn shopify_address(a: &Value) -> Option<Address> {
    a.is_object().then(|| Address {
        name: text(&a["name"]),
        company: text(&a["company"]),
        line1: text(&a["address1"]),
        line2: text(&a["address2"]),
        city: text(&a["city"]),
        state: text(&a["province_code"]),
        postal_code: text(&a["zip"]),
        country: text(&a["country_code"]),
        phone: text(&a["phone"]),
    })
}

/// A Shopify REST order (the orders/* webhook body) as an intake order.
pub fn from_shopify(o: &Value) -> Result<OrderInput, ApiError> {
    let mut r = Reader { errors: Vec::new() };
    let external_id = id_text(&o["id"]);
    if external_id.is_none() {
        r.errors.push(FieldError::new("id", "required", "the Shopify order id"));
    }
    let mut lines = Vec::new();
    for (i, l) in o["line_items"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        let tax: i64 =
            l["tax_lines"].as_array().map_or(0, |t| t.iter().filter_map(|x| minor_units(&x["price"])).sum());
        lines.push(LineInput {
            sku: text(&l["sku"]),
            product_id: id_text(&l["product_id"]),
            variant_id: id_text(&l["variant_id"]),
            name: text(&l["title"]).or_else(|| text(&l["name"])),
            quantity: l["quantity"].as_i64().unwrap_or(0),
            unit_price: r.money(&l["price"], &format!("line_items[{i}].price")),
            discount: r.money(&l["total_discount"], &format!("line_items[{i}].total_discount")),
            tax: Some(tax),
        });
    }
    let shipping: i64 =
        o["shipping_lines"].as_array().map_or(0, |s| s.iter().filter_map(|x| minor_units(&x["price"])).sum());
    let customer = &o["customer"];
    let name = match (text(&customer["first_name"]), text(&customer["last_name"])) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    };
    let input = OrderInput {
        external_id,
        currency: text(&o["currency"]).unwrap_or_default(),
        customer: Customer {
            email: text(&o["email"]).or_else(|| text(&o["contact_email"])),
            name,
            phone: text(&o["phone"]),
        },
        shipping_address: shopify_address(&o["shipping_address"]),
        billing_address: shopify_address(&o["billing_address"]),
        lines,
        shipping: Some(shipping),
        tax: r.money(&o["total_tax"], "total_tax"),
        discount: r.money(&o["total_discounts"], "total_discounts"),
        total: r.money(&o["total_price"], "total_price"),
        payment: Payment {
            source: "external".into(),
            token: None,
            status: text(&o["financial_status"]).or_else(|| Some("pending".into())),
            reference: text(&o["name"]).map(|n| format!("shopify {n}")),
        },
        promotion_codes: Vec::new(),
        notes: text(&o["note"]),
    };
    if r.errors.is_empty() { Ok(input) } else { Err(ApiError::Validation(r.errors)) }
}

fn woo_address(a: &Value) -> Option<Address> {
    a.is_object().then(|| {
        let name = match (text(&a["first_name"]), text(&a["last_name"])) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (f, l) => f.or(l),
        };
        Address {
            name,
            company: text(&a["company"]),
            line1: text(&a["address_1"]),
            line2: text(&a["address_2"]),
            city: text(&a["city"]),
            state: text(&a["state"]),
            postal_code: text(&a["postcode"]),
            country: text(&a["country"]),
            phone: text(&a["phone"]),
        }
    })
}

/// A WooCommerce REST order (the order.* webhook body) as an intake order.
pub fn from_woocommerce(o: &Value) -> Result<OrderInput, ApiError> {
    let mut r = Reader { errors: Vec::new() };
    let external_id = id_text(&o["id"]);
    if external_id.is_none() {
        r.errors.push(FieldError::new("id", "required", "the WooCommerce order id"));
    }
    let mut lines = Vec::new();
    for (i, l) in o["line_items"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        let variation = id_text(&l["variation_id"]).filter(|v| v != "0");
        // `price` is the discounted line total over the quantity (a float): the unit price comes
        // from the subtotal instead, and the discount is what the coupons took off.
        let subtotal = r.money(&l["subtotal"], &format!("line_items[{i}].subtotal")).unwrap_or(0);
        let total = r.money(&l["total"], &format!("line_items[{i}].total")).unwrap_or(0);
        let quantity = l["quantity"].as_i64().unwrap_or(0);
        lines.push(LineInput {
            sku: text(&l["sku"]),
            product_id: id_text(&l["product_id"]),
            variant_id: variation,
            name: text(&l["name"]),
            quantity,
            unit_price: Some(if quantity > 0 { subtotal / quantity } else { subtotal }),
            discount: Some((subtotal - total).max(0)),
            tax: r.money(&l["total_tax"], &format!("line_items[{i}].total_tax")),
        });
    }
    // WooCommerce: processing and completed orders are paid; on-hold and pending are not yet.
    let status = match o["status"].as_str().unwrap_or("") {
        "processing" | "completed" => "paid",
        "on-hold" | "pending" => "pending",
        "cancelled" => "voided",
        "refunded" => "refunded",
        "failed" => "failed",
        other => other,
    };
    let email = text(&o["billing"]["email"]);
    let input = OrderInput {
        external_id,
        currency: text(&o["currency"]).unwrap_or_default(),
        customer: Customer {
            email,
            name: woo_address(&o["billing"]).and_then(|a| a.name),
            phone: text(&o["billing"]["phone"]),
        },
        shipping_address: woo_address(&o["shipping"]),
        billing_address: woo_address(&o["billing"]).map(|mut a| {
            a.phone = None;
            a
        }),
        lines,
        shipping: r.money(&o["shipping_total"], "shipping_total"),
        tax: r.money(&o["total_tax"], "total_tax"),
        discount: r.money(&o["discount_total"], "discount_total"),
        total: r.money(&o["total"], "total"),
        payment: Payment {
            source: "external".into(),
            token: None,
            status: Some(status.to_owned()),
            reference: text(&o["transaction_id"]).or_else(|| text(&o["payment_method"])),
        },
        promotion_codes: Vec::new(),
        notes: text(&o["customer_note"]),
    };
    if r.errors.is_empty() { Ok(input) } else { Err(ApiError::Validation(r.errors)) }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// `created`, `updated`, `cancelled`, `duplicate`, `ignored` or `ping`.
    pub outcome: String,
    pub order_id: Option<Uuid>,
    pub status: Option<String>,
}

fn receipt(outcome: &str, order: Option<(Uuid, String)>) -> Response {
    let (order_id, status) = order.map_or((None, None), |(i, s)| (Some(i), Some(s)));
    (StatusCode::OK, Json(WebhookReceipt { outcome: outcome.into(), order_id, status })).into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty())
}

/// Verifies and handles one delivery: `topic` is `create`, `update` or `cancel` (or anything else,
/// ignored), `dedupe` the delivery's identity, `input` the translated order.
#[allow(clippy::too_many_arguments)]
async fn deliver(
    state: &AppState,
    kind: &'static str,
    channel: &str,
    headers: &HeaderMap,
    signature_header: &str,
    body: &[u8],
    topic: Option<&str>,
    translate: fn(&Value) -> Result<OrderInput, ApiError>,
    dedupe: fn(&HeaderMap, &Value) -> Option<String>,
) -> Result<Response, ApiError> {
    let channel_id =
        Uuid::parse_str(channel).map_err(|_| ApiError::NotFound(format!("channel {channel}")))?;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, None, None).await?;
    let target = tx
        .query_opt("SELECT tenant_id, code, secret_sealed, price_tolerance_bp, active FROM channel_webhook_target($1, $2)", &[&channel_id, &kind])
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("channel {channel_id}")))?;
    let (tenant, code, sealed, tolerance, active): (Uuid, String, Option<Vec<u8>>, i32, bool) =
        (target.get(0), target.get(1), target.get(2), target.get(3), target.get(4));
    let sealed = sealed.ok_or_else(unauthenticated)?;
    let secret = crate::platform::crypto::open(
        &crate::platform::crypto::sealing_key(state).await?,
        channel_id,
        &sealed,
    )?;
    if !verify_signature(&secret, body, header(headers, signature_header)) {
        return Err(unauthenticated());
    }
    if !active {
        return Err(ApiError::Forbidden("the channel is switched off".into()));
    }
    let tenant = TenantId::from_uuid(tenant);
    scope_tenant(&tx, tenant).await?;
    let payload: Value = crate::platform::http::parse_json(body)?;
    let Some(topic) = topic.filter(|t| matches!(*t, "create" | "update" | "cancel")) else {
        return Ok(receipt("ignored", None));
    };
    let now = state.clock().now();
    let key = dedupe(headers, &payload).ok_or_else(|| {
        ApiError::Validation(vec![FieldError::new(
            "headers",
            "required",
            "the delivery carries no identity to deduplicate on",
        )])
    })?;
    let fresh = tx
        .execute(
            "INSERT INTO channel_deliveries (tenant_id, channel_id, dedupe_key, topic, received_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            &[&tenant.as_uuid(), &channel_id, &key, &topic, &now],
        )
        .await?;
    if fresh == 0 {
        let order: Option<(Uuid, String)> = tx
            .query_opt(
                "SELECT o.id, o.status FROM channel_deliveries d JOIN orders o ON o.id = d.order_id
                  WHERE d.tenant_id = $1 AND d.channel_id = $2 AND d.dedupe_key = $3",
                &[&tenant.as_uuid(), &channel_id, &key],
            )
            .await?
            .map(|r| (r.get(0), r.get(1)));
        tx.commit().await?;
        return Ok(receipt("duplicate", order));
    }
    let input = match translate(&payload) {
        Ok(input) => input,
        Err(e) => {
            reject(state, tenant, channel_id, kind, None, &e).await;
            return Err(e);
        }
    };
    let origin = Origin {
        source: kind,
        channel_id: Some(channel_id),
        actor: ("channel", Some(channel_id)),
        placed_by: None,
        idempotency_key: None,
        profile_version: None,
    };
    // A WooCommerce update to cancelled (or refunded) is the order's cancellation.
    let topic = if topic == "update"
        && matches!(input.payment.status.as_deref(), Some("voided" | "refunded"))
        && kind == "woocommerce"
    {
        "cancel"
    } else {
        topic
    };
    let existing = store::existing(&tx, tenant, &origin, input.external_id.as_deref()).await?;
    if topic == "cancel" && existing.is_none() {
        // A cancellation of an order this gateway never took: nothing to cancel.
        tx.commit().await?;
        return Ok(receipt("ignored", None));
    }
    let (outcome, order_id, envelopes) = match (topic, existing) {
        ("cancel", Some(id)) => {
            let order = store::load(&tx, id, true).await?;
            let mut envelopes = Vec::new();
            if order.status.can_become(OrderStatus::Cancelled) {
                let e = store::transition(
                    &tx,
                    state,
                    tenant,
                    id,
                    Some(order.status),
                    OrderStatus::Cancelled,
                    "cancelled on the channel",
                    origin.actor,
                    now,
                )
                .await?;
                envelopes.push(e);
            }
            ("cancelled", id, envelopes)
        }
        ("update", Some(id)) => {
            // The channel's payment may have moved on (e.g. pending → paid): record it, and give a
            // held order another look.
            tx.execute(
                "UPDATE orders SET payment_status = $2, payment_reference = COALESCE($3, payment_reference), updated_at = $4
                  WHERE id = $1",
                &[&id, &input.payment.status.as_deref().map(str::to_ascii_lowercase), &input.payment.reference, &now],
            )
            .await?;
            let status = store::load(&tx, id, false).await?.status;
            let mut envelopes = Vec::new();
            if status == OrderStatus::NeedsReview {
                let (_, e) = revalidate_order(&tx, state, tenant, id, origin.actor, now).await?;
                envelopes.extend(e);
            }
            ("updated", id, envelopes)
        }
        _ => {
            let ctx = Context {
                tenant,
                at: now,
                channel: Some((code, tolerance)),
                serviceable_states: serviceable_states(&tx, tenant).await?,
            };
            let (_, order, envelopes) = match take(state, &tx, &ctx, &origin, &input).await {
                Ok(taken) => taken,
                Err(e) => {
                    reject(state, tenant, channel_id, kind, input.external_id.as_deref(), &e).await;
                    return Err(e);
                }
            };
            ("created", order.id, envelopes)
        }
    };
    tx.execute(
        "UPDATE channel_deliveries SET order_id = $4 WHERE tenant_id = $1 AND channel_id = $2 AND dedupe_key = $3",
        &[&tenant.as_uuid(), &channel_id, &key, &order_id],
    )
    .await?;
    let status: String = tx.query_one("SELECT status FROM orders WHERE id = $1", &[&order_id]).await?.get(0);
    tx.commit().await?;
    crate::platform::events::publish_committed(state, &envelopes).await?;
    Ok(receipt(outcome, Some((order_id, status))))
}

/// A channel order intake refused (the channel will retry, then give up): kept as an
/// `intake_rejected` exception with every reason, so a person sees it.
async fn reject(
    state: &AppState,
    tenant: TenantId,
    channel: Uuid,
    kind: &str,
    external_id: Option<&str>,
    e: &ApiError,
) {
    let ApiError::Validation(errors) = e else { return };
    let record = async {
        let mut conn = state.db().await?.conn().await?;
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        let mut ex = NewException::new(
            "intake_rejected",
            format!("webhooks-{kind}"),
            Severity::Error,
            format!("a {kind} order was refused at intake"),
        )
        .tenant(Some(tenant))
        .details(serde_json::json!({ "channel_id": channel, "external_id": external_id, "errors": errors }));
        if let Some(external) = external_id {
            ex = ex.subject(format!("channel/{channel}/order/{external}"));
        }
        exceptions::open(&*tx, &ex, state.clock().now()).await?;
        tx.commit().await?;
        Ok::<(), ApiError>(())
    };
    if let Err(e) = record.await {
        tracing::error!(error = %e, "could not record a refused channel order");
    }
}

/// Shopify's `orders/create`, `orders/updated` and `orders/cancelled` for one of the tenant's
/// channels: `X-Shopify-Hmac-Sha256` verified over the raw body; deduplicated on the event id
/// (else the webhook id).
#[utoipa::path(post, path = "/api/v1/webhooks/shopify/{id}", operation_id = "webhooks_shopify", tag = "channels",
    params(("id" = Uuid, Path, description = "Channel id")),
    responses(
        (status = 200, description = "Handled (or a duplicate, or a topic not used)", body = WebhookReceipt),
        (status = 401, description = "The signature does not verify; nothing written", body = crate::Problem),
        (status = 422, description = "An order that cannot be taken", body = crate::Problem),
    ))]
pub async fn shopify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let body = read_body(request, &()).await?;
    let topic = match header(&headers, "x-shopify-topic") {
        Some("orders/create") => Some("create"),
        Some("orders/updated") => Some("update"),
        Some("orders/cancelled") => Some("cancel"),
        _ => None,
    };
    let dedupe = |h: &HeaderMap, _: &Value| {
        header(h, "x-shopify-event-id")
            .map(|e| format!("event:{e}"))
            .or_else(|| header(h, "x-shopify-webhook-id").map(|w| format!("webhook:{w}")))
    };
    deliver(&state, "shopify", &id, &headers, "x-shopify-hmac-sha256", &body, topic, from_shopify, dedupe)
        .await
}

/// WooCommerce's `order.created` and `order.updated` for one of the tenant's channels:
/// `X-WC-Webhook-Signature` verified over the raw body; the unsigned ping sent when the webhook is
/// created is answered 200; deduplicated on (source, order id, modification time).
#[utoipa::path(post, path = "/api/v1/webhooks/woocommerce/{id}", operation_id = "webhooks_woocommerce", tag = "channels",
    params(("id" = Uuid, Path, description = "Channel id")),
    responses(
        (status = 200, description = "Handled (or the ping, a duplicate, a topic not used)", body = WebhookReceipt),
        (status = 401, description = "The signature does not verify; nothing written", body = crate::Problem),
        (status = 422, description = "An order that cannot be taken", body = crate::Problem),
    ))]
pub async fn woocommerce(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let body = read_body(request, &()).await?;
    let form =
        header(&headers, "content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if form && body.starts_with(b"webhook_id=") && header(&headers, "x-wc-webhook-signature").is_none() {
        return Ok(receipt("ping", None));
    }
    let topic = match header(&headers, "x-wc-webhook-topic") {
        Some("order.created") => Some("create"),
        Some("order.updated") => Some("update"),
        _ => None,
    };
    let dedupe = |h: &HeaderMap, o: &Value| {
        let source = header(h, "x-wc-webhook-source").unwrap_or("");
        let modified = text(&o["date_modified_gmt"]).or_else(|| text(&o["date_modified"]))?;
        Some(format!("{source}|{}|{modified}", id_text(&o["id"])?))
    };
    deliver(
        &state,
        "woocommerce",
        &id,
        &headers,
        "x-wc-webhook-signature",
        &body,
        topic,
        from_woocommerce,
        dedupe,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_amounts_become_exact_minor_units() {
        assert_eq!(minor_units(&Value::from("403.00")), Some(40300));
        assert_eq!(minor_units(&Value::from("0.45")), Some(45));
        assert_eq!(minor_units(&serde_json::json!(3)), Some(300));
        assert_eq!(minor_units(&serde_json::json!(12.5)), Some(1250));
        assert_eq!(minor_units(&Value::from("1.005")), None);
        assert_eq!(minor_units(&Value::from("abc")), None);
        assert_eq!(minor_units(&Value::from("-5.1")), Some(-510));
    }

    #[test]
    fn signatures_verify_only_over_the_exact_body() {
        let s = sign(b"secret", b"{\"id\":1}");
        assert!(verify_signature(b"secret", b"{\"id\":1}", Some(&s)));
        assert!(!verify_signature(b"secret", b"{\"id\": 1}", Some(&s)));
        assert!(!verify_signature(b"other", b"{\"id\":1}", Some(&s)));
        assert!(!verify_signature(b"secret", b"{\"id\":1}", None));
    }
}
