//! Login by email and password, with a progressive lockout, and `GET /api/v1/auth/me`.
//!
//! The unknown-email path and the wrong-password path are one path: the lookup always returns a
//! row (with or without a user), the lockout depends only on the email's recorded failures, and
//! the argon2 verification always runs (against a dummy hash when there is no user). The answer
//! is the same `invalid_credentials` for both.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::passwords;
use super::principal::Principal;
use super::sessions::{TokenPair, start};
use crate::identity::roles::role;
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::ApiError;
use crate::platform::http::ApiJson;
use crate::platform::http::Caller;
use crate::platform::rate_limit;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

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

/// A short, stable stand-in for an email in rate-limit keys (emails stay out of DynamoDB).
pub fn short_hash(email: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, email.as_bytes());
    d.as_ref()[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Emails are compared lower-case and trimmed; a value that cannot be an address is a 422.
pub fn normalize_email(raw: &str, field: &str) -> Result<String, ApiError> {
    Ok(super::model::Email::parse(raw, field)?.into_string())
}

/// Runs the argon2 verification off the async workers (it takes tens of milliseconds of CPU).
pub async fn verify_password(password: SecretString, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || passwords::verify(&password, stored.as_deref()))
        .await
        .map_err(ApiError::internal)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// The tenant to sign in to, for users in several; default: their first active membership.
    pub tenant_id: Option<Uuid>,
}

async fn record_attempt(
    client: &impl tokio_postgres::GenericClient,
    email: &str,
    user: Option<Uuid>,
    caller: &Caller,
    succeeded: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    Ok(super::store::recovery::record_attempt(client, email, user, caller, succeeded, reason, now).await?)
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", operation_id = "auth_login", tag = "identity",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (tokens), or a second factor is needed (challenge)", body = LoginResult),
        (status = 401, description = "Wrong email or password (one answer for both)", body = crate::Problem),
        (status = 403, description = "Right password, but no active membership (in the named tenant)", body = crate::Problem),
        (status = 429, description = "Locked after repeated failures; see Retry-After", body = crate::Problem),
    ))]
pub async fn login(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResult>, ApiError> {
    let email = normalize_email(&req.email, "email")?;
    // Guessing is limited per email and per client before any work, across every instance; if the
    // limiter is down, logins are refused rather than left unlimited.
    let email_key = format!("login-email:{}", short_hash(&email));
    let ip_key = caller.ip.as_ref().map(|ip| (format!("login-ip:{ip}"), rate_limit::LOGIN_PER_IP));
    for (key, limit) in std::iter::once((email_key, rate_limit::LOGIN_PER_EMAIL)).chain(ip_key) {
        if let Err((refusal, first)) =
            rate_limit::enforce_noting(&state, &key, limit, rate_limit::WhenDown::Closed).await
        {
            if first {
                // The lockout is on record once per window, next to the attempts it stopped.
                let conn = state.db().await?.conn().await?;
                record_attempt(&**conn, &email, None, &caller, false, "rate_limited", state.clock().now())
                    .await?;
            }
            return Err(refusal);
        }
    }
    let keys = crate::identity::keys::of(&state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, None, None).await?;
    // Attempts for one email run one at a time (across instances: the lock is in Postgres), so
    // parallel guesses cannot all read "4 failures" and slip past the lockout. A flood for one
    // email waits at most 3 s for its turn, then is told to retry, so it cannot pin the pool.
    tx.batch_execute("SET LOCAL lock_timeout = '3s'").await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('login:' || $1))", &[&email]).await.map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
            ApiError::TooManyAttempts { retry_after_seconds: 1 }
        } else {
            ApiError::internal(e)
        }
    })?;
    // The time is read in turn, so attempts are recorded in the order they were decided.
    let now = state.clock().now();
    let row = tx
        .query_one("SELECT * FROM identity_login_lookup($1, $2)", &[&email, &(now - FAILURE_WINDOW)])
        .await?;
    let (user, stored): (Option<Uuid>, Option<String>) = (row.get(0), row.get(1));
    let (failures, last_failure): (i32, Option<DateTime<Utc>>) = (row.get(2), row.get(3));

    if let Some(wait) = locked_for(failures, last_failure, now) {
        record_attempt(&*tx, &email, user, &caller, false, "locked", now).await?;
        tx.commit().await?;
        // Rounded up: a client that waits exactly this long is let in.
        let seconds = (wait.num_milliseconds() + 999) / 1000;
        return Err(ApiError::TooManyAttempts { retry_after_seconds: seconds.max(1) as u64 });
    }
    let matched = verify_password(req.password, stored).await?;
    let user = match (matched, user) {
        (true, Some(user)) => user,
        _ => {
            record_attempt(&*tx, &email, user, &caller, false, "bad_credentials", now).await?;
            tx.commit().await?;
            return Err(ApiError::InvalidCredentials);
        }
    };
    crate::platform::db::scope_user(&tx, user).await?;
    let memberships: Vec<Uuid> = tx
        .query(
            "SELECT m.tenant_id FROM tenant_users m JOIN tenants t ON t.id = m.tenant_id
              WHERE m.user_id = $1 AND m.status = 'active' AND t.status = 'active'
              ORDER BY m.created_at, m.tenant_id",
            &[&user],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let chosen = match req.tenant_id {
        Some(t) => memberships.iter().copied().find(|m| *m == t),
        None => memberships.first().copied(),
    };
    let Some(tenant) = chosen.map(TenantId::from_uuid) else {
        record_attempt(&*tx, &email, Some(user), &caller, false, "no_active_membership", now).await?;
        tx.commit().await?;
        return Err(ApiError::Forbidden(
            "no active membership in an active tenant (or the one named)".into(),
        ));
    };
    crate::platform::db::scope_tenant(&tx, tenant).await?;
    record_attempt(&*tx, &email, Some(user), &caller, true, "ok", now).await?;
    // A user with an authenticator, or whose tenant requires a second factor for their roles, gets
    // a challenge now and tokens from POST /api/v1/auth/mfa/verify.
    if let Some(challenge) = super::mfa::challenge_if_needed(&tx, user, tenant, now).await? {
        tx.commit().await?;
        return Ok(Json(LoginResult::Challenge(challenge)));
    }
    let tokens = start(&tx, &keys, user, tenant, &caller, now).await?;
    let actor = Actor::person("user", user, Some(tenant), &caller);
    audit::record_as(
        &tx,
        Some(tenant),
        &actor,
        now,
        Entry::new("session.login", "session", tokens.session_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(LoginResult::Tokens(tokens)))
}

/// A login's answer: tokens, or a second-factor challenge.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResult {
    Tokens(TokenPair),
    Challenge(super::mfa::MfaChallenge),
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

/// Who the caller is: user, acting tenant, roles, permissions, memberships.
#[utoipa::path(get, path = "/api/v1/auth/me", operation_id = "auth_me", tag = "identity", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not signed in, or the session ended", body = crate::Problem),
    ))]
pub async fn me(State(state): State<AppState>, principal: Principal) -> Result<Json<Me>, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let user =
        tx.query_one("SELECT email, display_name FROM users WHERE id = $1", &[&principal.user_id]).await?;
    let memberships = tx
        .query(
            "SELECT m.tenant_id, t.slug, t.name, t.status, m.status,
                    ARRAY(SELECT g.role_code FROM role_grants g
                           WHERE g.tenant_id = m.tenant_id AND g.user_id = m.user_id ORDER BY 1)
               FROM tenant_users m JOIN tenants t ON t.id = m.tenant_id
              WHERE m.user_id = $1 ORDER BY m.created_at",
            &[&principal.user_id],
        )
        .await?
        .iter()
        .map(|r| Membership {
            tenant_id: r.get(0),
            slug: r.get(1),
            name: r.get(2),
            tenant_status: r.get(3),
            status: r.get(4),
            roles: r.get(5),
        })
        .collect();
    tx.commit().await?;
    let mut permissions: Vec<String> = principal
        .roles
        .iter()
        .filter_map(|r| role(r))
        .flat_map(|r| r.parsed().map(|p| p.to_string()))
        .collect();
    permissions.sort();
    permissions.dedup();
    Ok(Json(Me {
        user_id: principal.user_id,
        email: user.get(0),
        display_name: user.get(1),
        tenant_id: principal.tenant.as_uuid(),
        session_id: principal.session_id,
        roles: principal.roles.clone(),
        permissions,
        memberships,
    }))
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
    fn emails_are_normalised_or_refused() {
        assert_eq!(normalize_email("  Ada@Example.COM ", "email").ok(), Some("ada@example.com".into()));
        for bad in ["", "ada", "@example.com", "ada@example", "a da@example.com"] {
            assert!(normalize_email(bad, "email").is_err(), "{bad}");
        }
    }
}
