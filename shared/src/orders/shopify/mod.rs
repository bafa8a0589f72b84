//! The Shopify channel: `orders/create`, `orders/updated` and `orders/cancelled` webhooks, signed
//! with `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body with the app's secret) and
//! deduplicated on the order's id and update time. The payload is a REST
//! order; [`wire`] reads it into an intake order.

mod wire;

use axum::http::HeaderMap;
use serde_json::Value;

use crate::orders::model::{id_text, text};
use crate::orders::service::channels::{Adapter, Topic, header};

pub const ADAPTER: Adapter = Adapter {
    kind: "shopify",
    signature_header: "x-shopify-hmac-sha256",
    topic,
    dedupe,
    translate: |topic, payload| Ok((topic, wire::order(payload)?)),
};

fn topic(h: &HeaderMap) -> Option<Topic> {
    match header(h, "x-shopify-topic")? {
        "orders/create" => Some(Topic::Create),
        "orders/updated" => Some(Topic::Update),
        "orders/cancelled" => Some(Topic::Cancel),
        _ => None,
    }
}

/// The order and its update time: a retry of a delivery (the same event, the same webhook id)
/// carries both unchanged, while a different order — or a later version of it — never matches,
/// whatever ids the headers repeat. Only a payload without them falls back to the event id (else
/// the webhook id).
fn dedupe(h: &HeaderMap, o: &Value) -> Option<String> {
    let order = id_text(&o["id"]).zip(text(&o["updated_at"]));
    order
        .map(|(id, at)| format!("order:{id}|{at}"))
        .or_else(|| header(h, "x-shopify-event-id").map(|e| format!("event:{e}")))
        .or_else(|| header(h, "x-shopify-webhook-id").map(|w| format!("webhook:{w}")))
}
