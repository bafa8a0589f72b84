//! Channels and their webhooks. A channel has a code (the name SKU mappings use), a kind, a price
//! tolerance and, for webhook channels, a secret sealed at rest (shown once). A delivery is
//! verified over the raw body in constant time before anything is read (a bad signature: nothing
//! written), deduplicated on what its [`Adapter`] names as its identity, translated into an
//! [`OrderInput`], and goes through the same intake as every order.

use aws_lc_rs::hmac;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::intake::Context;
use super::orders::{Change, change, revalidate_order, serviceable_states, take};
use crate::orders::OrderInput;
use crate::orders::model::{Channel, CheckedChannel, Error, OrderStatus, Origin, Receipt};
use crate::orders::store::{channels as store, orders as order_store};
use crate::platform::crypto::{self, random_token};
use crate::platform::db::{scope_tenant, scoped_tx};
use crate::platform::error::FieldError;
use crate::platform::events::Envelope;
use crate::platform::exceptions::{self, NewException, Severity};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// What a channel delivery asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Create,
    Update,
    Cancel,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Cancel => "cancel",
        }
    }
}

/// A payload read: what the delivery really asks for, and the order — or every problem.
pub type Translated = Result<(Topic, OrderInput), Vec<FieldError>>;

/// How one kind of channel speaks: where its signature is, what a delivery asks for, what makes
/// two deliveries the same, and how its payload becomes an intake order (and, from that order,
/// what the delivery really asks for: a WooCommerce update to cancelled is a cancellation).
pub struct Adapter {
    pub kind: &'static str,
    pub signature_header: &'static str,
    /// `None`: a topic this gateway does not act on (answered, ignored).
    pub topic: fn(&HeaderMap) -> Option<Topic>,
    pub dedupe: fn(&HeaderMap, &Value) -> Option<String>,
    pub translate: fn(Topic, &Value) -> Translated,
}

/// A header's value, trimmed; `None` when absent, blank or not text.
pub fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty())
}

/// Verifies `base64(HMAC-SHA256(secret, body))` in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(tag) = header.and_then(|h| B64.decode(h.trim()).ok()) else { return false };
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), body, &tag).is_ok()
}

/// `base64(HMAC-SHA256(secret, body))`, as Shopify and WooCommerce sign.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    B64.encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), body).as_ref())
}

/// A channel's webhook secret as stored: AES-256-GCM with the data key, bound to the channel id.
pub async fn seal_secret(state: &AppState, channel: Uuid, secret: &str) -> Result<Vec<u8>, Error> {
    Ok(crypto::seal(&crypto::sealing_key(state).await?, channel, secret.as_bytes())?)
}

/// Adds a channel to `tenant`; the answer carries its webhook secret (given or generated), once.
pub async fn create(
    state: &AppState,
    tx: &Transaction<'_>,
    tenant: TenantId,
    new: CheckedChannel,
    now: DateTime<Utc>,
) -> Result<Channel, Error> {
    let id = Uuid::now_v7();
    let secret = match &new.secret {
        Some(s) => s.clone(),
        None => random_token()?,
    };
    let sealed = seal_secret(state, id, &secret).await?;
    let mut made = store::insert(tx, tenant, id, &new, &sealed, now).await?;
    made.secret = Some(secret);
    Ok(made)
}

fn unauthenticated() -> Error {
    Error::Unauthenticated("the webhook signature does not verify".into())
}

/// One verified delivery on its way through: the channel it came to and when.
struct Delivery {
    kind: &'static str,
    channel: Uuid,
    target: store::Target,
    now: DateTime<Utc>,
}

impl Delivery {
    fn origin(&self) -> Origin {
        Origin {
            source: self.kind,
            channel_id: Some(self.channel),
            actor: ("channel", Some(self.channel)),
            placed_by: None,
            idempotency_key: None,
            profile_version: None,
        }
    }
}

/// The channel `id` of the adapter's kind, if the delivery's signature verifies with its secret
/// (404 for no such channel, 401 for a signature that does not verify, 403 for a channel that is
/// switched off — in that order, so nothing is told to an unsigned caller but that it is one).
async fn authenticate(
    state: &AppState,
    tx: &Transaction<'_>,
    adapter: &Adapter,
    id: Uuid,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<store::Target, Error> {
    let target = store::webhook_target(tx, id, adapter.kind)
        .await?
        .ok_or_else(|| Error::NotFound(format!("channel {id}")))?;
    let sealed = target.sealed.as_deref().ok_or_else(unauthenticated)?;
    let secret = crypto::open(&crypto::sealing_key(state).await?, id, sealed)?;
    if !verify_signature(&secret, body, header(headers, adapter.signature_header)) {
        return Err(unauthenticated());
    }
    if !target.active {
        return Err(Error::Forbidden("the channel is switched off".into()));
    }
    Ok(target)
}

/// Verifies and handles one delivery to channel `channel` (as the path gave it).
pub async fn receive(
    state: &AppState,
    adapter: &Adapter,
    channel: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Receipt, Error> {
    let id = Uuid::parse_str(channel).map_err(|_| Error::NotFound(format!("channel {channel}")))?;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, None, None).await?;
    let target = authenticate(state, &tx, adapter, id, headers, body).await?;
    let tenant = target.tenant;
    scope_tenant(&tx, tenant).await?;
    let mut payload: Value = crate::platform::http::read_json(body)?;
    // Card numbers never enter the system: one in a channel's payload is masked to its last four
    // before anything is read or kept, and the order says which fields were masked.
    let masked = crate::platform::validate::mask_card_number_fields(&mut payload);
    let Some(topic) = (adapter.topic)(headers) else {
        return Ok(Receipt { outcome: "ignored", order: None });
    };
    let key = (adapter.dedupe)(headers, &payload).ok_or_else(|| {
        Error::field("headers", "required", "the delivery carries no identity to deduplicate on")
    })?;
    let d = Delivery { kind: adapter.kind, channel: id, target, now: state.clock().now() };
    if !store::record_delivery(&tx, tenant, id, &key, topic.as_str(), d.now).await? {
        let order = store::delivered_order(&tx, tenant, id, &key).await?;
        tx.commit().await?;
        return Ok(Receipt { outcome: "duplicate", order });
    }
    let refusal = Refusal { d: &d, key: &key, topic, payload: &payload };
    let (topic, input) = match (adapter.translate)(topic, &payload) {
        Ok(read) => read,
        Err(errors) => return refusal.keep(state, None, errors).await,
    };
    let acted = match act(state, &tx, &d, topic, &input).await {
        Err(Error::Invalid(errors)) => {
            return refusal.keep(state, input.external_id.as_deref(), errors).await;
        }
        other => other?,
    };
    let Some((outcome, order, envelopes)) = acted else {
        // A cancellation of an order this gateway never took: nothing to cancel.
        tx.commit().await?;
        return Ok(Receipt { outcome: "ignored", order: None });
    };
    if !masked.is_empty() {
        let ex = NewException::new(
            "card_number_masked",
            format!("webhooks-{}", d.kind),
            Severity::Warning,
            format!("a card number in the {} payload was masked to its last four digits", d.kind),
        )
        .tenant(Some(tenant))
        .order(order)
        .subject(format!("order/{order}/card-number"))
        .details(serde_json::json!({ "fields": masked }));
        exceptions::open(&*tx, &ex, d.now).await?;
    }
    store::link_delivery(&tx, tenant, id, &key, order).await?;
    let status = order_store::status(&tx, order).await?;
    tx.commit().await?;
    crate::platform::events::publish_committed(state, &envelopes).await?;
    Ok(Receipt { outcome, order: Some((order, status)) })
}

/// What the delivery does to the channel's order: creates it, records its payment's progress
/// (and gives a held order another look), or cancels it where the state machine still allows.
/// `None` for a cancellation of an order never taken.
async fn act(
    state: &AppState,
    tx: &Transaction<'_>,
    d: &Delivery,
    topic: Topic,
    input: &OrderInput,
) -> Result<Option<(&'static str, Uuid, Vec<Envelope>)>, Error> {
    let (tenant, origin) = (d.target.tenant, d.origin());
    let existing =
        order_store::existing(tx, tenant, &origin, input.external_id.as_deref()).await?.map(|(id, _)| id);
    let mut envelopes = Vec::new();
    let outcome = match (topic, existing) {
        (Topic::Cancel, None) => return Ok(None),
        (Topic::Cancel, Some(id)) => {
            let order = order_store::load(tx, id, true).await?;
            if order.status.can_become(OrderStatus::Cancelled) {
                let how = Change { reason: "cancelled on the channel", actor: origin.actor, now: d.now };
                envelopes.push(
                    change(tx, state, tenant, &order, crate::orders::model::Action::Cancel, &how).await?,
                );
            }
            ("cancelled", id)
        }
        (Topic::Update, Some(id)) => {
            let (status, reference) = (input.payment.status.as_deref(), input.payment.reference.as_deref());
            order_store::update_payment(tx, id, status, reference, d.now).await?;
            if order_store::load(tx, id, false).await?.status == OrderStatus::NeedsReview {
                let (_, e) = revalidate_order(tx, state, tenant, id, origin.actor, d.now).await?;
                envelopes.extend(e);
            }
            ("updated", id)
        }
        (Topic::Create, _) | (Topic::Update, None) => {
            let ctx = Context {
                tenant,
                at: d.now,
                channel: Some((d.target.code.clone(), d.target.tolerance)),
                serviceable_states: serviceable_states(tx, tenant).await?,
            };
            let (_, order, made) = take(state, tx, &ctx, &origin, input).await?;
            envelopes = made;
            ("created", order.id)
        }
    };
    Ok(Some((outcome.0, outcome.1, envelopes)))
}

/// A signed delivery whose order intake refuses.
struct Refusal<'a> {
    d: &'a Delivery,
    key: &'a str,
    topic: Topic,
    /// As received, card numbers masked.
    payload: &'a Value,
}

impl Refusal<'_> {
    /// Keeps the refused order as an `intake_rejected` exception holding the payload, so a person
    /// sees why and retries it (`POST /api/v1/admin/exceptions/{id}/retry`) once the cause is fixed;
    /// the channel's retries of the same delivery add nothing. The delivery is acknowledged
    /// (`refused`): a channel that keeps getting errors stops sending (Shopify removes the webhook).
    async fn keep(
        &self,
        state: &AppState,
        external_id: Option<&str>,
        errors: Vec<FieldError>,
    ) -> Result<Receipt, Error> {
        let (d, tenant) = (self.d, self.d.target.tenant);
        let subject = match external_id {
            Some(external) => format!("channel/{}/order/{external}", d.channel),
            None => format!("channel/{}/delivery/{}", d.channel, self.key),
        };
        let ex = NewException::new(
            "intake_rejected",
            format!("webhooks-{}", d.kind),
            Severity::Error,
            format!("a {} order was refused at intake", d.kind),
        )
        .tenant(Some(tenant))
        .subject(subject)
        .details(serde_json::json!({
            "channel_id": d.channel, "channel_kind": d.kind, "topic": self.topic.as_str(),
            "external_id": external_id, "errors": errors, "payload": self.payload,
        }));
        let mut conn = state.db().await?.conn().await?;
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        exceptions::open(&*tx, &ex, state.clock().now()).await?;
        tx.commit().await?;
        Ok(Receipt { outcome: "refused", order: None })
    }
}

/// The adapter of a channel kind.
fn adapter_of(kind: &str) -> Option<&'static Adapter> {
    match kind {
        "shopify" => Some(&crate::orders::shopify::ADAPTER),
        "woocommerce" => Some(&crate::orders::woocommerce::ADAPTER),
        _ => None,
    }
}

/// Runs intake again on the order a refused delivery carried (its `intake_rejected` exception):
/// taken now (the exception resolved), or refused again with every reason (422, it stays open).
pub async fn retry(
    state: &AppState,
    tx: &Transaction<'_>,
    tenant: TenantId,
    exception: Uuid,
    actor: (&'static str, Option<Uuid>),
    now: DateTime<Utc>,
) -> Result<(crate::orders::Order, Vec<Envelope>), Error> {
    let ex = exceptions::get(tx, exception, true)
        .await?
        .ok_or_else(|| Error::NotFound(format!("exception {exception}")))?;
    let not_retryable =
        |why: &str| Error::Conflict { code: "not_retryable", detail: format!("exception {exception} {why}") };
    if ex.status != "open" {
        return Err(not_retryable("is resolved"));
    }
    let details = &ex.details;
    let (Some(channel), Some(adapter), Some(topic)) = (
        details["channel_id"].as_str().and_then(|c| c.parse::<Uuid>().ok()),
        details["channel_kind"].as_str().and_then(adapter_of),
        match details["topic"].as_str() {
            Some("update") => Some(Topic::Update),
            Some("cancel") => Some(Topic::Cancel),
            Some("create") => Some(Topic::Create),
            _ => None,
        },
    ) else {
        return Err(not_retryable("holds no channel delivery to retry"));
    };
    let (_, input) = (adapter.translate)(topic, &details["payload"]).map_err(Error::Invalid)?;
    let (code, tolerance) =
        store::terms(tx, channel).await?.ok_or_else(|| Error::NotFound(format!("channel {channel}")))?;
    let ctx = Context {
        tenant,
        at: now,
        channel: Some((code, tolerance)),
        serviceable_states: serviceable_states(tx, tenant).await?,
    };
    let origin = Origin {
        source: adapter.kind,
        channel_id: Some(channel),
        actor,
        placed_by: None,
        idempotency_key: None,
        profile_version: None,
    };
    let (_, order, envelopes) = take(state, tx, &ctx, &origin, &input).await?;
    let note = format!("retried: order {} ({})", order.number, order.status);
    exceptions::resolve(tx, exception, &note, actor.1, now).await?;
    Ok((order, envelopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_over_the_exact_body() {
        let s = sign(b"secret", b"{\"id\":1}");
        assert!(verify_signature(b"secret", b"{\"id\":1}", Some(&s)));
        assert!(!verify_signature(b"secret", b"{\"id\": 1}", Some(&s)));
        assert!(!verify_signature(b"other", b"{\"id\":1}", Some(&s)));
        assert!(!verify_signature(b"secret", b"{\"id\":1}", None));
    }
}
