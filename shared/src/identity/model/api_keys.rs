//! API keys: credentials for machines (custom channels, integrations), each acting for exactly one
//! tenant with a list of permissions no wider than its creator's — checked when it is created and
//! again on every use (a key loses what its creator loses, and stops with the creator's membership).
//!
//! A key is `rgk_<tenant id, 32 hex><secret, 43 base64url>`: the tenant lets the lookup run in that
//! tenant's transaction (row-level security); only the SHA-256 of the secret is stored. It is sent
//! as `X-Api-Key: <key>` or `Authorization: Bearer <key>`. Rotation issues a successor and lets the
//! old key work for a grace period; revocation is immediate. API keys cannot manage API keys.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Error, Principal};
use crate::identity::roles::{Permission, Scope};
use crate::platform::error::FieldError;
use crate::platform::tenant::TenantId;

pub const API_KEY_PREFIX: &str = "rgk_";
pub const DEFAULT_GRACE: Duration = Duration::hours(24);
pub const MAX_GRACE: Duration = Duration::days(7);
/// Last use is written at most this often.
pub const KEY_TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// A new key for `tenant`: the string handed out once, the stored hash, and the visible prefix.
pub fn new_key(tenant: TenantId) -> Result<(String, Vec<u8>, String), Error> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Internal("random generator failed".into()))?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let tenant_hex = tenant.as_uuid().simple().to_string();
    let key = format!("{API_KEY_PREFIX}{tenant_hex}{secret}");
    let shown = format!("{API_KEY_PREFIX}{}…{}", &tenant_hex[..8], &secret[..6]);
    Ok((key, digest(&SHA256, secret.as_bytes()).as_ref().to_vec(), shown))
}

/// The tenant and secret hash of a key, or `None` if it is not one.
pub fn parse_key(key: &str) -> Option<(TenantId, Vec<u8>)> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    if rest.len() != 32 + 43 || !rest.is_ascii() {
        return None;
    }
    let (tenant_hex, secret) = rest.split_at(32);
    let tenant = Uuid::try_parse(tenant_hex).ok()?;
    if !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    Some((TenantId::from_uuid(tenant), digest(&SHA256, secret.as_bytes()).as_ref().to_vec()))
}

/// An API key as listed (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// Enough of the key to recognise it: `rgk_<tenant>…<secret start>`.
    pub display_prefix: String,
    pub permissions: Vec<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Set on a rotated key: it works until then.
    pub grace_until: Option<DateTime<Utc>>,
    pub replaced_by: Option<Uuid>,
    /// active, rotating (rotated, still in its grace period), expired or revoked.
    pub status: String,
}

/// A key's status at `now`: revoked (or rotated past its grace), expired, rotating or active.
pub fn key_status(
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    grace_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> &'static str {
    if revoked_at.is_some() || grace_until.is_some_and(|g| g <= now) {
        "revoked"
    } else if expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else if grace_until.is_some() {
        "rotating"
    } else {
        "active"
    }
}

/// A key as created or rotated: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The whole key. Store it now: it is never shown again.
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKey,
}

/// API keys cannot manage API keys.
pub fn check_person(p: &Principal) -> Result<(), Error> {
    match p.key_id {
        Some(_) => Err(Error::Forbidden("API keys cannot manage API keys".into())),
        None => Ok(()),
    }
}

/// A key belongs to its creator's own tenant (a cross-tenant caller cannot make one).
pub fn check_own_tenant(p: &Principal) -> Result<(), Error> {
    if p.cross_tenant {
        return Err(Error::Forbidden("an API key belongs to its creator's own tenant".into()));
    }
    Ok(())
}

/// A requested permission, checked: parsed, tenant-scoped, held by `p`.
fn check_permission(p: &Principal, field: String, raw: &str) -> Result<String, FieldError> {
    match raw.parse::<Permission>() {
        Err(e) => Err(FieldError::new(field, "invalid", e.to_string())),
        Ok(perm) if perm.scope() == Scope::All => {
            Err(FieldError::new(field, "cross_tenant", "a key acts for exactly one tenant"))
        }
        Ok(perm) if !p.holds(&perm) => {
            Err(FieldError::new(field, "not_held", format!("you do not hold {perm}")))
        }
        Ok(perm) => Ok(perm.to_string()),
    }
}

/// Checks a new key's name, permissions and expiry for `p`: the permissions normalised, sorted,
/// once each.
pub fn check_new_key(
    p: &Principal,
    name: &str,
    permissions: &[String],
    expires_at: Option<DateTime<Utc>>,
) -> Result<Vec<String>, Error> {
    let mut errors = Vec::new();
    if name.trim().is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "invalid", "1 to 100 characters"));
    }
    if permissions.is_empty() {
        errors.push(FieldError::new("permissions", "required", "at least one permission"));
    }
    let mut normalized = Vec::new();
    for (i, raw) in permissions.iter().enumerate() {
        match check_permission(p, format!("permissions[{i}]"), raw) {
            Ok(perm) => normalized.push(perm),
            Err(e) => errors.push(e),
        }
    }
    if expires_at.is_some_and(|e| e <= p.now) {
        errors.push(FieldError::new("expires_at", "in_the_past", "must be in the future"));
    }
    normalized.sort();
    normalized.dedup();
    if errors.is_empty() { Ok(normalized) } else { Err(Error::Invalid(errors)) }
}

/// The grace period of a rotation (default [`DEFAULT_GRACE`], 0 to [`MAX_GRACE`]).
/// The number is range-checked before it becomes a duration (a huge one would overflow).
pub fn grace_period(seconds: Option<i64>) -> Result<Duration, Error> {
    let seconds = seconds.unwrap_or(DEFAULT_GRACE.num_seconds());
    if !(0..=MAX_GRACE.num_seconds()).contains(&seconds) {
        return Err(Error::invalid("grace_seconds", "out_of_range", "0 to 604800"));
    }
    Ok(Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grace_period_is_range_checked_before_it_becomes_a_duration() {
        assert_eq!(grace_period(Some(3600)).ok(), Some(Duration::hours(1)));
        for bad in [-1, 604_801, 9_300_000_000_000_000, i64::MAX, i64::MIN] {
            assert!(matches!(grace_period(Some(bad)), Err(Error::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn keys_round_trip_and_garbage_is_refused() {
        let tenant = TenantId::new();
        let (key, hash, shown) = new_key(tenant).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(parse_key(&key), Some((tenant, hash)));
        assert!(key.starts_with(API_KEY_PREFIX) && shown.starts_with(API_KEY_PREFIX) && shown.len() < 30);
        for bad in
            ["", "rgk_", "rgk_zz", &key[..key.len() - 1], &format!("{key}x"), &key.replace("rgk_", "rgx_")]
        {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_key_is_revoked_expired_rotating_or_active() {
        let now = Utc::now();
        let (past, future) = (Some(now - Duration::seconds(1)), Some(now + Duration::seconds(1)));
        assert_eq!(key_status(past, None, None, now), "revoked");
        assert_eq!(key_status(None, None, past, now), "revoked");
        assert_eq!(key_status(None, past, None, now), "expired");
        assert_eq!(key_status(None, future, future, now), "rotating");
        assert_eq!(key_status(None, future, None, now), "active");
    }

    #[test]
    fn grace_periods_stay_within_a_week() {
        assert_eq!(grace_period(None).ok(), Some(DEFAULT_GRACE));
        assert_eq!(grace_period(Some(0)).ok(), Some(Duration::zero()));
        assert!(grace_period(Some(-1)).is_err());
        assert!(grace_period(Some(MAX_GRACE.num_seconds() + 1)).is_err());
    }
}
