//! The access-token key rings as a function instance holds them: the public ring (verification, every
//! protected route) and the private ring (signing, only login, refresh and tenant switch), each read
//! from Secrets Manager, parsed once and reused for five minutes. An unknown key id triggers one
//! immediate re-read of the public ring (at most every 30 s), so a rotation is picked up without
//! waiting. Rotation itself is the `rotate-signing-keys` task, which writes both secrets.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::identity::tokens::{AccessClaims, KeyRing, TokenError, rotated};
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

/// One ring secret, cached.
struct CachedRing {
    secret_id: Option<String>,
    /// The variable that names the secret, for the error when it is absent.
    variable: &'static str,
    public: bool,
    cache: Mutex<Cache>,
}

impl CachedRing {
    fn new(secret_id: Option<String>, variable: &'static str, public: bool) -> Self {
        Self { secret_id, variable, public, cache: Mutex::default() }
    }

    async fn load(&self, secrets: &Secrets, fresh: bool) -> Result<Arc<KeyRing>, TokenError> {
        let id = self
            .secret_id
            .as_deref()
            .ok_or_else(|| TokenError::Ring(format!("{} is not set for this function", self.variable)))?;
        let value = if fresh { secrets.get_fresh(id).await } else { secrets.get(id).await }
            .map_err(|e| TokenError::Ring(e.to_string()))?;
        let ring = if self.public { KeyRing::from_public_json(&value)? } else { KeyRing::from_json(&value)? };
        Ok(Arc::new(ring))
    }

    async fn get(&self, secrets: &Secrets, now: DateTime<Utc>) -> Result<Arc<KeyRing>, TokenError> {
        let mut cache = self.cache.lock().await;
        if let Some((ring, at)) = &cache.ring {
            if now - *at < RING_TTL {
                return Ok(ring.clone());
            }
        }
        let ring = self.load(secrets, false).await?;
        cache.ring = Some((ring.clone(), now));
        Ok(ring)
    }

    /// Re-reads the secret now; within [`FORCED_RELOAD_INTERVAL`] of the last re-read, the ring that
    /// re-read cached (a concurrent request may just have fetched the new key).
    async fn reload(
        &self,
        secrets: &Secrets,
        now: DateTime<Utc>,
    ) -> Result<Option<Arc<KeyRing>>, TokenError> {
        let mut cache = self.cache.lock().await;
        if cache.last_forced.is_some_and(|t| now - t < FORCED_RELOAD_INTERVAL) {
            return Ok(cache.ring.as_ref().map(|(r, _)| r.clone()));
        }
        cache.last_forced = Some(now);
        let ring = self.load(secrets, true).await?;
        cache.ring = Some((ring.clone(), now));
        Ok(Some(ring))
    }
}

/// Verifies access tokens with the public ring and issues them with the private one.
pub struct SigningKeys {
    secrets: Secrets,
    clock: SharedClock,
    public: CachedRing,
    private: CachedRing,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("verification", &self.public.secret_id)
            .field("signing", &self.private.secret_id)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// `verification_secret` (public ring) and `signing_secret` (private ring) are names or ARNs;
    /// a function that never issues tokens has no signing secret.
    pub fn new(
        secrets: Secrets,
        verification_secret: Option<String>,
        signing_secret: Option<String>,
        clock: SharedClock,
    ) -> Self {
        Self {
            secrets,
            clock,
            public: CachedRing::new(verification_secret, "VERIFICATION_KEYS_SECRET", true),
            private: CachedRing::new(signing_secret, "SIGNING_KEYS_SECRET", false),
        }
    }

    /// Signs `claims` with the active private key.
    pub async fn issue(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        self.private.get(&self.secrets, self.clock.now()).await?.issue(claims)
    }

    /// Verifies `token` at the clock's now. A key id the ring does not know triggers one re-read of
    /// the public ring (a rotation this instance has not seen yet), then the answer is final.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let now = self.clock.now();
        match self.public.get(&self.secrets, now).await?.verify(token, now) {
            Err(TokenError::UnknownKey) => match self.public.reload(&self.secrets, now).await? {
                Some(ring) => ring.verify(token, now),
                None => Err(TokenError::UnknownKey),
            },
            other => other,
        }
    }
}

/// What one rotation did.
#[derive(Debug, serde::Serialize)]
pub struct Rotation {
    pub active_kid: String,
}

async fn read(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<SecretString, TokenError> {
    let out = client.get_secret_value().secret_id(id).send().await.map_err(|e| {
        TokenError::Ring(format!("secret {id}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
    })?;
    Ok(SecretString::from(out.secret_string().unwrap_or_default().to_owned()))
}

async fn write(client: &aws_sdk_secretsmanager::Client, id: &str, value: &str) -> Result<(), TokenError> {
    client.put_secret_value().secret_id(id).secret_string(value).send().await.map_err(|e| {
        TokenError::Ring(format!("secret {id}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
    })?;
    Ok(())
}

/// Writes the public half of the private ring `value` to `public_id`.
async fn publish(
    client: &aws_sdk_secretsmanager::Client,
    public_id: &str,
    value: &SecretString,
) -> Result<(), TokenError> {
    write(client, public_id, &KeyRing::from_json(value)?.public_json()?).await
}

/// Rotates the private ring in `signing_id` (a new active key, the previous one kept for the tokens
/// it signed), publishing its public half to `verification_id` first.
pub async fn rotate(
    client: &aws_sdk_secretsmanager::Client,
    signing_id: &str,
    verification_id: &str,
    now: DateTime<Utc>,
) -> Result<Rotation, TokenError> {
    let (next, kid) = rotated(&read(client, signing_id).await?, now)?;
    // Public half first: verifiers know the new key before any token is signed with it. If the
    // second write fails, the old key stays active and nothing breaks.
    publish(client, verification_id, &next).await?;
    write(client, signing_id, next.expose_secret()).await?;
    Ok(Rotation { active_kid: kid })
}

/// Gives an empty ring its first key and (re)publishes a public half that is missing or out of step
/// (local stacks, fresh deployments, a half-done rotation); leaves rings in order alone. Returns
/// whether it rotated.
pub async fn ensure_initialized(
    client: &aws_sdk_secretsmanager::Client,
    signing_id: &str,
    verification_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, TokenError> {
    let private = read(client, signing_id).await?;
    if KeyRing::from_json(&private).is_err() {
        rotate(client, signing_id, verification_id, now).await?;
        return Ok(true);
    }
    // Republish when the public half is missing or names other keys (a half-done rotation).
    let expected = KeyRing::from_json(&private)?.public_json()?;
    let public = read(client, verification_id).await?;
    let in_step =
        KeyRing::from_public_json(&public).and_then(|r| r.public_json()).is_ok_and(|p| p == expected);
    if !in_step {
        write(client, verification_id, &expected).await?;
    }
    Ok(false)
}

/// The `rotate-signing-keys` task (monthly schedule; also run once after the first deploy).
pub async fn rotate_task(
    state: &crate::platform::state::AppState,
) -> Result<serde_json::Value, crate::platform::error::TaskError> {
    let config = state.config();
    let (signing, verification) =
        (config.signing_keys_secret()?.to_owned(), config.verification_keys_secret()?.to_owned());
    let client = state.aws().await.secretsmanager();
    let rotation = rotate(&client, &signing, &verification, state.clock().now())
        .await
        .map_err(|e| crate::platform::error::TaskError::Other(e.to_string()))?;
    tracing::info!(active_kid = %rotation.active_kid, "signing keys rotated");
    Ok(serde_json::json!({ "active_kid": rotation.active_kid }))
}
/// The access-token key rings this function may read (`VERIFICATION_KEYS_SECRET`, and
/// `SIGNING_KEYS_SECRET` where it issues tokens), cached per instance.
pub async fn of(state: &crate::platform::state::AppState) -> Arc<SigningKeys> {
    let config = state.config();
    let (verify, sign) = (
        config.verification_keys_secret_opt().map(str::to_owned),
        config.signing_keys_secret_opt().map(str::to_owned),
    );
    let slot = match (&verify, &sign) {
        (_, Some(_)) => 2,
        (Some(_), None) => 1,
        (None, None) => 0,
    };
    let secrets = state.secrets().await.clone();
    state.instance(slot, || SigningKeys::new(secrets, verify, sign, state.clock().clone()))
}
