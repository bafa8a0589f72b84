//! The WooCommerce channel: `order.created` and `order.updated` webhooks, signed with
//! `X-WC-Webhook-Signature` (base64 HMAC-SHA256 of the raw body with the webhook's secret). Its
//! delivery id is useless for deduplication, so a delivery is (source, order id, modification
//! time). The unsigned ping WooCommerce sends when a webhook is created is answered, not read. An
//! update to cancelled or refunded is the order's cancellation.

mod wire;

use axum::http::HeaderMap;
use serde_json::Value;

use crate::orders::model::{id_text, text};
use crate::orders::service::channels::{Adapter, Topic, header};

pub const ADAPTER: Adapter = Adapter {
    kind: "woocommerce",
    signature_header: "x-wc-webhook-signature",
    topic,
    dedupe,
    translate: |topic, payload| {
        let input = wire::order(payload)?;
        let cancelled = matches!(input.payment.status.as_deref(), Some("voided" | "refunded"));
        Ok((if topic == Topic::Update && cancelled { Topic::Cancel } else { topic }, input))
    },
};

/// The form-encoded, unsigned `webhook_id=…` WooCommerce posts when a webhook is saved.
pub fn is_ping(h: &HeaderMap, body: &[u8]) -> bool {
    let form = header(h, "content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    form && body.starts_with(b"webhook_id=") && header(h, ADAPTER.signature_header).is_none()
}

fn topic(h: &HeaderMap) -> Option<Topic> {
    match header(h, "x-wc-webhook-topic")? {
        "order.created" => Some(Topic::Create),
        "order.updated" => Some(Topic::Update),
        _ => None,
    }
}

fn dedupe(h: &HeaderMap, o: &Value) -> Option<String> {
    let source = header(h, "x-wc-webhook-source").unwrap_or("");
    let modified = text(&o["date_modified_gmt"]).or_else(|| text(&o["date_modified"]))?;
    Some(format!("{source}|{}|{modified}", id_text(&o["id"])?))
}
