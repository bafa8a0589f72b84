//! The access-token key ring as a function instance holds it: read from Secrets Manager, parsed once,
//! reused for five minutes; re-read at once (at most every 30 s) when a token names a key id the
//! cached ring does not know, so a rotation is picked up without waiting. Rotation itself is the
//! `rotate-signing-keys` task.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;

use super::tokens::{AccessClaims, KeyRing, TokenError, rotated};
use crate::platform::clock::SharedClock;
use crate::platform::secrets::Secrets;

/// How long a parsed ring is reused before the secret is read again.
pub const RING_TTL: Duration = Duration::minutes(5);
/// The least time between two forced re-reads on an unknown key id (bounds what a stream of
/// forged key ids can cost).
pub const FORCED_RELOAD_INTERVAL: Duration = Duration::seconds(30);

#[derive(Default)]
struct Cache {
    ring: Option<(Arc<KeyRing>, DateTime<Utc>)>,
    last_forced: Option<DateTime<Utc>>,
}

/// Signs and verifies access tokens with the current ring.
pub struct SigningKeys {
    secrets: Secrets,
    secret_id: String,
    clock: SharedClock,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys").field("secret_id", &self.secret_id).finish_non_exhaustive()
    }
}

impl SigningKeys {
    pub fn new(secrets: Secrets, secret_id: impl Into<String>, clock: SharedClock) -> Self {
        Self { secrets, secret_id: secret_id.into(), clock, cache: Mutex::default() }
    }

    async fn load(&self, fresh: bool) -> Result<Arc<KeyRing>, TokenError> {
        let value = if fresh {
            self.secrets.get_fresh(&self.secret_id).await
        } else {
            self.secrets.get(&self.secret_id).await
        }
        .map_err(|e| TokenError::Ring(e.to_string()))?;
        Ok(Arc::new(KeyRing::from_json(&value)?))
    }

    /// The ring, from the instance cache while it is fresh.
    pub async fn ring(&self) -> Result<Arc<KeyRing>, TokenError> {
        let now = self.clock.now();
        let mut cache = self.cache.lock().await;
        if let Some((ring, at)) = &cache.ring {
            if now - *at < RING_TTL {
                return Ok(ring.clone());
            }
        }
        let ring = self.load(false).await?;
        cache.ring = Some((ring.clone(), now));
        Ok(ring)
    }

    /// Signs `claims` with the active key.
    pub async fn issue(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        self.ring().await?.issue(claims)
    }

    /// Verifies `token` at the clock's now. A key id the ring does not know triggers one re-read of
    /// the secret (a rotation this instance has not seen yet), then the answer is final.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let now = self.clock.now();
        match self.ring().await?.verify(token, now) {
            Err(TokenError::UnknownKey) => {
                let mut cache = self.cache.lock().await;
                if cache.last_forced.is_some_and(|t| now - t < FORCED_RELOAD_INTERVAL) {
                    return Err(TokenError::UnknownKey);
                }
                cache.last_forced = Some(now);
                let ring = self.load(true).await?;
                cache.ring = Some((ring.clone(), now));
                drop(cache);
                ring.verify(token, now)
            }
            other => other,
        }
    }
}

/// What one rotation did.
#[derive(Debug, serde::Serialize)]
pub struct Rotation {
    pub active_kid: String,
}

/// Rotates the ring in `secret_id`: a new active key, the previous one kept for the tokens it signed.
pub async fn rotate(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    now: DateTime<Utc>,
) -> Result<Rotation, TokenError> {
    let unavailable = |e: String| TokenError::Ring(format!("secret {secret_id}: {e}"));
    let current = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    let current = secrecy::SecretString::from(current.secret_string().unwrap_or_default().to_owned());
    let (next, kid) = rotated(&current, now)?;
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(secrecy::ExposeSecret::expose_secret(&next))
        .send()
        .await
        .map_err(|e| unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    Ok(Rotation { active_kid: kid })
}

/// Gives an empty ring its first key (local stacks and fresh deployments); leaves a ring that has
/// an active key alone. Returns whether it rotated.
pub async fn ensure_initialized(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, TokenError> {
    let current =
        client.get_secret_value().secret_id(secret_id).send().await.map_err(|e| {
            TokenError::Ring(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
        })?;
    let value = secrecy::SecretString::from(current.secret_string().unwrap_or_default().to_owned());
    if KeyRing::from_json(&value).is_ok() {
        return Ok(false);
    }
    rotate(client, secret_id, now).await.map(|_| true)
}

/// The `rotate-signing-keys` task (monthly schedule; also run once after the first deploy).
pub async fn rotate_task(
    state: &crate::platform::state::AppState,
) -> Result<serde_json::Value, crate::registry::TaskError> {
    let secret = state.config().signing_keys_secret()?.to_owned();
    let client = state.aws().await.secretsmanager();
    let rotation = rotate(&client, &secret, state.clock().now())
        .await
        .map_err(|e| crate::registry::TaskError::Other(e.to_string()))?;
    tracing::info!(active_kid = %rotation.active_kid, "signing keys rotated");
    Ok(serde_json::json!({ "active_kid": rotation.active_kid }))
}
