//! The links people receive by email: password reset (request → token by email → new password) and
//! invitation acceptance (the invitee sets a password). Tokens are single use and expire; only
//! their SHA-256 is stored. Emails go through the outbox to the `notify-email` function.

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::new_secret;
use crate::identity::model::{Email, Error};
use crate::identity::passwords::{self, PasswordError};
use crate::identity::service::memberships;
use crate::identity::store;
use crate::notifications::{EmailRequested, EmailTemplate};
use crate::platform::events::{self, Envelope};
use crate::platform::http::Caller;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const RESET_TTL: Duration = Duration::hours(1);

/// A new password checked against the policy and hashed (off the async workers); a password that
/// breaks the policy is an invalid `field`.
pub(crate) async fn new_password_hash(password: SecretString, field: &str) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| match e {
            PasswordError::Hashing => Error::Internal(e.to_string()),
            PasswordError::TooShort | PasswordError::TooLong => {
                Error::invalid(field, "password_policy", e.to_string())
            }
        })
}

/// A reset requested for `user` (`tx` scoped to them): when they have an active membership, the
/// reset is stored and its email recorded in that tenant's outbox. Answers the tenant and the
/// envelope to publish after commit; nothing when there is no active membership (the user could
/// not sign in after a reset anyway).
pub(crate) async fn request_reset(
    state: &AppState,
    tx: &Transaction<'_>,
    user: Uuid,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<Option<(TenantId, Envelope)>, Error> {
    let Some(tenant) = store::recovery::first_active_tenant(tx, user).await? else { return Ok(None) };
    crate::platform::db::scope_tenant(tx, tenant).await?;
    let (token, hash) = new_secret(user)?;
    let expires = now + RESET_TTL;
    store::recovery::insert_reset(tx, user, &hash, now, expires).await?;
    let mut params = serde_json::Map::new();
    params.insert(
        "reset_url".into(),
        format!("{}/reset-password?token={token}", state.config().app_base_url).into(),
    );
    params.insert("expires_at".into(), expires.to_rfc3339().into());
    let mail = EmailRequested { to: email.to_string(), template: EmailTemplate::PasswordReset, params };
    let envelope = events::record(tx, Some(tenant), state.clock().as_ref(), &mail).await?;
    Ok(Some((tenant, envelope)))
}

/// Sets `user`'s new password with the reset token `token_hash` (`tx` scoped to them): the token
/// and every other reset link die, every session ends, and any lockout on the email ends. Answers
/// the tenants the user belongs to (each audits the reset).
pub(crate) async fn confirm_reset(
    tx: &Transaction<'_>,
    user: Uuid,
    token_hash: &[u8],
    password_hash: &str,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Vec<TenantId>, Error> {
    if !store::recovery::spend_resets(tx, user, token_hash, now).await? {
        return Err(Error::InvalidToken);
    }
    let email = store::recovery::set_password(tx, user, password_hash, now).await?;
    store::recovery::revoke_all_sessions(tx, user, "password_reset", now).await?;
    store::recovery::record_attempt(tx, &email, Some(user), caller, true, "password_reset", now).await?;
    Ok(store::recovery::tenants_of(tx, user).await?)
}

/// An accepted invitation.
pub(crate) struct Accepted {
    pub user: Uuid,
    pub email: String,
    pub roles: Vec<String>,
}

/// Accepts the invitation `token_hash` to `tenant` (`tx` scoped to it): a new user sets their
/// `password` (required then, ignored otherwise) and may set their `display_name`; the membership
/// becomes active with exactly the invited roles.
pub(crate) async fn accept_invitation(
    tx: &Transaction<'_>,
    tenant: TenantId,
    token_hash: &[u8],
    password: Option<SecretString>,
    display_name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Accepted, Error> {
    let invitation = store::invitations::accept(tx, token_hash, now).await?.ok_or(Error::InvalidToken)?;
    let user = invitation.user;
    crate::platform::db::scope_user(tx, user).await?;
    let (email, has_password) = store::recovery::account(tx, user).await?;
    if !has_password {
        let password =
            password.ok_or_else(|| Error::invalid("password", "required", "a new user sets a password"))?;
        let hashed = new_password_hash(password, "password").await?;
        store::recovery::set_password(tx, user, &hashed, now).await?;
    }
    if let Some(name) = display_name.map(str::trim).filter(|n| !n.is_empty()) {
        store::recovery::set_display_name(tx, user, name, now).await?;
    }
    // The membership holds exactly the invited roles.
    memberships::join(tx, tenant, user, &invitation.roles, invitation.invited_by, now).await?;
    Ok(Accepted { user, email, roles: invitation.roles })
}
