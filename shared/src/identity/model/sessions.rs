//! Sessions and the tokens they hand out: a 15-minute access token naming the session, and a 7-day
//! refresh token. A session is one refresh-token family: each refresh spends its token and issues
//! the next, and presenting a spent token revokes the session (someone replayed it).

use aws_lc_rs::digest::{SHA256, digest};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const REFRESH_TOKEN_TTL: Duration = Duration::days(7);
/// A session lives at most this long, refreshed or not.
pub const SESSION_MAX_AGE: Duration = Duration::days(30);
pub const DEFAULT_IDLE_MINUTES: i64 = 15;
pub const IDLE_SETTING: &str = "session.idle_timeout_minutes";

/// A single-use secret handed to a person or client: `<scope id>.<32 random bytes, base64url>`.
/// The scope id (a tenant or a user) lets the holder's transaction be scoped before the lookup;
/// only the SHA-256 of the secret is stored.
pub fn new_secret(scope: Uuid) -> Result<(String, Vec<u8>), crate::platform::crypto::CryptoError> {
    let secret = crate::platform::crypto::random_token()?;
    let hash = crate::platform::crypto::sha256(&secret);
    Ok((format!("{scope}.{secret}"), hash))
}

/// The scope id and secret hash of a token made by [`new_secret`]; `None` if it is not one.
pub fn parse_secret(token: &str) -> Option<(Uuid, Vec<u8>)> {
    let (scope, secret) = token.trim().split_once('.')?;
    let scope = Uuid::parse_str(scope).ok()?;
    if secret.len() != 43 || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    Some((scope, digest(&SHA256, secret.as_bytes()).as_ref().to_vec()))
}

/// A session's idle timeout in seconds from the tenant's setting (minutes; default
/// [`DEFAULT_IDLE_MINUTES`], 1 minute to a day).
pub fn idle_timeout_seconds(setting: Option<i32>) -> i32 {
    (setting.map(i64::from).unwrap_or(DEFAULT_IDLE_MINUTES).clamp(1, 1440) * 60) as i32
}

/// What a login, refresh or tenant switch answers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token is valid.
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub session_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub roles: Vec<String>,
}

/// One of the caller's live sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub current: bool,
    pub device_fingerprint: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub idle_timeout_seconds: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_junk_is_refused() {
        let scope = Uuid::now_v7();
        let (token, hash) = new_secret(scope).unwrap_or_default();
        assert_eq!(parse_secret(&token), Some((scope, hash)));
        for bad in ["", "x.y", &format!("{scope}.short"), &format!("{scope}.{}", "!".repeat(43))] {
            assert_eq!(parse_secret(bad), None, "{bad}");
        }
    }

    #[test]
    fn idle_timeouts_default_to_15_minutes_and_stay_within_a_day() {
        assert_eq!(idle_timeout_seconds(None), 15 * 60);
        assert_eq!(idle_timeout_seconds(Some(0)), 60);
        assert_eq!(idle_timeout_seconds(Some(30)), 30 * 60);
        assert_eq!(idle_timeout_seconds(Some(100_000)), 1440 * 60);
    }
}
