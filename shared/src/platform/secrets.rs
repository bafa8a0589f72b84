//! Secrets from Secrets Manager, by name or ARN, cached per function instance. Values are held as
//! [`SecretString`], whose `Debug` prints `[REDACTED]`; reading one is an explicit `expose_secret`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::clock::SharedClock;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {id}: not found or not readable: {reason}")]
    Unavailable { id: String, reason: String },
    #[error("secret {id}: has no string value")]
    NotAString { id: String },
    #[error("secret {id}: not the expected JSON shape: {reason}")]
    Shape { id: String, reason: String },
}

/// How long a fetched value is reused before it is read again (so rotations are picked up).
pub const CACHE_TTL: Duration = Duration::minutes(5);

/// A value and when it was fetched.
type Cached = (SecretString, DateTime<Utc>);

#[derive(Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
    clock: SharedClock,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

impl Secrets {
    pub fn new(client: aws_sdk_secretsmanager::Client, clock: SharedClock) -> Self {
        Self { client, clock, cache: Arc::default() }
    }

    /// The secret's string value. `id` is a name or an ARN.
    pub async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        self.read(id, false).await
    }

    /// The secret's current value, bypassing the cache (after a rotation was noticed).
    pub async fn get_fresh(&self, id: &str) -> Result<SecretString, SecretError> {
        self.read(id, true).await
    }

    async fn read(&self, id: &str, fresh: bool) -> Result<SecretString, SecretError> {
        let now = self.clock.now();
        let mut cache = self.cache.lock().await;
        if let Some((value, fetched)) = cache.get(id) {
            if !fresh && now - *fetched < CACHE_TTL {
                return Ok(value.clone());
            }
        }
        let out = self.client.get_secret_value().secret_id(id).send().await.map_err(|e| {
            SecretError::Unavailable {
                id: id.to_owned(),
                reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            }
        })?;
        let value = SecretString::from(
            out.secret_string().ok_or_else(|| SecretError::NotAString { id: id.to_owned() })?.to_owned(),
        );
        cache.insert(id.to_owned(), (value.clone(), now));
        Ok(value)
    }

    /// The secret's value parsed as JSON (e.g. RDS credentials `{"username", "password"}`).
    pub async fn get_json<T: DeserializeOwned>(&self, id: &str) -> Result<T, SecretError> {
        let value = self.get(id).await?;
        // serde's messages can quote values (a password); report only where the shape broke.
        serde_json::from_str(value.expose_secret()).map_err(|e| SecretError::Shape {
            id: id.to_owned(),
            reason: format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()),
        })
    }
}
