//! The `notify-email` consumer: renders each requested email and sends it, then scrubs a sent
//! link's secret from the outbox.

use super::events::EmailRequested;
use super::model::{SECRET_PARAMS, render};
use super::service;
use crate::platform::consumer::Delivery;
use crate::platform::error::Cause;
use crate::platform::state::AppState;

/// The `notify-email` consumer's per-message work.
pub async fn deliver(state: &AppState, delivery: Delivery<EmailRequested>) -> Result<(), Cause> {
    let email = render(&delivery.envelope.data, &delivery.envelope.id.to_string())?;
    let sender = service::from_state(state).await?;
    sender.send(&email).await?;
    tracing::info!(template = ?delivery.envelope.data.template, "email sent");
    if let Err(e) = scrub_links(state, &delivery.envelope).await {
        // The email is out; a token left in the outbox is still single use and expiring.
        tracing::warn!(error = %e, "could not scrub the sent link from the outbox");
    }
    Ok(())
}

/// Once a link email is sent, its token has no business in the outbox: the row keeps everything but
/// the link.
async fn scrub_links(
    state: &AppState,
    envelope: &crate::platform::events::Envelope<EmailRequested>,
) -> Result<(), Cause> {
    let Some(tenant) = envelope.tenant_id else { return Ok(()) };
    if !SECRET_PARAMS.iter().any(|p| envelope.data.params.contains_key(*p)) {
        return Ok(());
    }
    let keys: Vec<String> = SECRET_PARAMS.iter().map(|p| p.to_string()).collect();
    if !crate::platform::events::redact_delivered(state, tenant, envelope.id, "params", &keys).await? {
        tracing::warn!(event_id = %envelope.id, "no outbox row to scrub the sent link from");
    }
    Ok(())
}
