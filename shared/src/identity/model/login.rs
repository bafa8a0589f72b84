//! Login's pure rules: the progressive lockout, the email's stand-in in rate-limit keys, and what a
//! login and `GET /api/v1/auth/me` answer.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Email, Error, TokenPair};

/// Failures (within [`FAILURE_WINDOW`], since the last success) before the account locks.
pub const LOCKOUT_THRESHOLD: i32 = 5;
pub const FAILURE_WINDOW: Duration = Duration::hours(24);
pub const MAX_LOCK: Duration = Duration::hours(1);

/// How long logins for an email stay locked after `failures` failures, the last at `last`: one
/// minute at the threshold, doubling with each further failure, at most an hour.
pub fn locked_for(failures: i32, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Duration> {
    let last = last?;
    if failures < LOCKOUT_THRESHOLD {
        return None;
    }
    let exp = (failures - LOCKOUT_THRESHOLD).clamp(0, 6) as u32;
    let lock = (Duration::minutes(1) * 2i32.pow(exp)).min(MAX_LOCK);
    let until = last + lock;
    (until > now).then(|| until - now)
}

/// The seconds a client is told to wait for `wait`, rounded up (a client that waits exactly this
/// long is let in), at least 1.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    ((wait.num_milliseconds() + 999) / 1000).max(1) as u64
}

/// A short, stable stand-in for an email in rate-limit keys (emails stay out of DynamoDB).
pub fn short_hash(email: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, email.as_bytes());
    d.as_ref()[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Emails are compared lower-case and trimmed; a value that cannot be an address is invalid.
pub fn normalize_email(raw: &str, field: &str) -> Result<String, Error> {
    Ok(Email::parse(raw, field)?.into_string())
}

/// The tenant a login signs in to: the one named, if it is among the active `memberships`, else
/// the first of them.
pub fn choose_tenant(memberships: &[Uuid], named: Option<Uuid>) -> Option<Uuid> {
    match named {
        Some(t) => memberships.iter().copied().find(|m| *m == t),
        None => memberships.first().copied(),
    }
}

/// Every permission `roles` hold, `resource:action:scope`, sorted, once each.
pub fn permission_names(roles: &[String]) -> Vec<String> {
    let mut out: Vec<String> = super::role_permissions(roles).iter().map(|p| p.to_string()).collect();
    out.sort();
    out.dedup();
    out
}

/// A login's answer: tokens, or a second-factor challenge.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResult {
    Tokens(TokenPair),
    Challenge(super::MfaChallenge),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Membership {
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub tenant_status: String,
    pub status: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub tenant_id: Uuid,
    pub session_id: Uuid,
    pub roles: Vec<String>,
    /// Every permission the roles hold, `resource:action:scope`.
    pub permissions: Vec<String>,
    /// Every tenant the user belongs to (switch with `POST /api/v1/auth/switch-tenant`).
    pub memberships: Vec<Membership>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_starts_at_the_threshold_and_doubles_to_an_hour() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert_eq!(locked_for(LOCKOUT_THRESHOLD - 1, Some(now), now), None);
        assert_eq!(locked_for(LOCKOUT_THRESHOLD, Some(now), now), Some(Duration::minutes(1)));
        assert_eq!(locked_for(LOCKOUT_THRESHOLD + 1, Some(now), now), Some(Duration::minutes(2)));
        assert_eq!(locked_for(LOCKOUT_THRESHOLD + 3, Some(now), now), Some(Duration::minutes(8)));
        assert_eq!(locked_for(LOCKOUT_THRESHOLD + 40, Some(now), now), Some(Duration::hours(1)));
        let later = now + Duration::seconds(61);
        assert_eq!(locked_for(LOCKOUT_THRESHOLD, Some(now), later), None, "the lock lapses");
        assert_eq!(locked_for(LOCKOUT_THRESHOLD, None, now), None);
    }

    #[test]
    fn the_wait_is_rounded_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::milliseconds(1)), 1);
        assert_eq!(retry_after_seconds(Duration::milliseconds(1001)), 2);
        assert_eq!(retry_after_seconds(Duration::seconds(60)), 60);
        assert_eq!(retry_after_seconds(Duration::zero()), 1);
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(normalize_email("  Ada@Example.COM ", "email").ok(), Some("ada@example.com".into()));
        for bad in ["", "ada", "@example.com", "ada@example", "a da@example.com"] {
            assert!(normalize_email(bad, "email").is_err(), "{bad}");
        }
    }

    #[test]
    fn the_named_tenant_must_be_an_active_membership() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(choose_tenant(&[a, b], None), Some(a));
        assert_eq!(choose_tenant(&[a, b], Some(b)), Some(b));
        assert_eq!(choose_tenant(&[a], Some(b)), None);
        assert_eq!(choose_tenant(&[], None), None);
    }
}
