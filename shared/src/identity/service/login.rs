//! Login by email and password, with a progressive lockout, and who the caller is.
//!
//! The unknown-email path and the wrong-password path are one path: the lookup always returns a
//! row (with or without a user), the lockout depends only on the email's recorded failures, and
//! the argon2 verification always runs (against a dummy hash when there is no user). The answer
//! is the same `invalid_credentials` for both.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tokio_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use crate::identity::model::{
    Error, FAILURE_WINDOW, Me, Principal, choose_tenant, locked_for, permission_names, retry_after_seconds,
};
use crate::identity::passwords;
use crate::identity::store;
use crate::platform::http::Caller;
use crate::platform::tenant::TenantId;

/// Runs the argon2 verification off the async workers (it takes tens of milliseconds of CPU).
pub(crate) async fn verify_password(password: SecretString, stored: Option<String>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || passwords::verify(&password, stored.as_deref()))
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Records that the rate limiter refused logins for `email` (once per window).
pub(crate) async fn record_rate_limited(
    client: &impl GenericClient,
    email: &str,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    Ok(store::recovery::record_attempt(client, email, None, caller, false, "rate_limited", now).await?)
}

/// Attempts for one email run one at a time (across instances: the lock is in Postgres), so
/// parallel guesses cannot all read "4 failures" and slip past the lockout. A flood for one email
/// waits at most 3 s for its turn, then is told to retry, so it cannot pin the pool.
pub(crate) async fn lock_email(tx: &Transaction<'_>, email: &str) -> Result<(), Error> {
    store::login::lock_email(tx, email).await.map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
            Error::Locked { retry_after_seconds: 1 }
        } else {
            Error::Internal(e.to_string())
        }
    })
}

/// A login attempt's outcome; either way it is recorded, so commit.
pub(crate) enum Attempt {
    /// The person and the tenant they sign in to (the transaction is scoped to both).
    Accepted { user: Uuid, tenant: TenantId },
    /// Refused with this answer.
    Refused(Error),
}

/// One login attempt for `email` at `now` (read after [`lock_email`], so attempts are recorded in
/// the order they were decided).
pub(crate) async fn attempt(
    tx: &Transaction<'_>,
    email: &str,
    password: SecretString,
    tenant: Option<Uuid>,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Attempt, Error> {
    let record = |user: Option<Uuid>, ok: bool, reason: &'static str| {
        store::recovery::record_attempt(tx, email, user, caller, ok, reason, now)
    };
    let found = store::login::lookup(tx, email, now - FAILURE_WINDOW).await?;
    if let Some(wait) = locked_for(found.failures, found.last_failure, now) {
        record(found.user, false, "locked").await?;
        return Ok(Attempt::Refused(Error::Locked { retry_after_seconds: retry_after_seconds(wait) }));
    }
    let matched = verify_password(password, found.password_hash).await?;
    let user = match (matched, found.user) {
        (true, Some(user)) => user,
        _ => {
            record(found.user, false, "bad_credentials").await?;
            return Ok(Attempt::Refused(Error::InvalidCredentials));
        }
    };
    crate::platform::db::scope_user(tx, user).await?;
    let memberships = store::login::active_memberships(tx, user).await?;
    let Some(tenant) = choose_tenant(&memberships, tenant).map(TenantId::from_uuid) else {
        record(Some(user), false, "no_active_membership").await?;
        let why = "no active membership in an active tenant (or the one named)";
        return Ok(Attempt::Refused(Error::Forbidden(why.into())));
    };
    crate::platform::db::scope_tenant(tx, tenant).await?;
    record(Some(user), true, "ok").await?;
    Ok(Attempt::Accepted { user, tenant })
}

/// Who `p` is: user, acting tenant, roles, permissions, memberships.
pub(crate) async fn me(tx: &Transaction<'_>, p: &Principal) -> Result<Me, Error> {
    let (email, display_name) = store::login::profile(tx, p.user_id).await?;
    let memberships = store::login::memberships(tx, p.user_id).await?;
    Ok(Me {
        user_id: p.user_id,
        email,
        display_name,
        tenant_id: p.tenant.as_uuid(),
        session_id: p.session_id,
        roles: p.roles.clone(),
        permissions: permission_names(&p.roles),
        memberships,
    })
}
