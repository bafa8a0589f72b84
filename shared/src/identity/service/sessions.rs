//! Sessions: the guard's check of a live session, starting one (login, tenant switch, SSO, MFA),
//! spending a refresh token for the next pair, switching tenants, and ending sessions.
//!
//! [`start`] is the one way a session begins — and, with the real signer, the way the test suites
//! mint tokens without running argon2 for every test user.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::keys::SigningKeys;
use crate::identity::model::{
    Error, LiveSession, Principal, REFRESH_TOKEN_TTL, SessionView, TOUCH_INTERVAL, TokenPair,
    effective_roles, idle_timeout_seconds, new_secret,
};
use crate::identity::store::sessions as store;
use crate::identity::tokens::{ACCESS_TOKEN_TTL, AccessClaims};
use crate::platform::http::Caller;
use crate::platform::tenant::TenantId;

fn unauthenticated(why: &str) -> Error {
    Error::Unauthenticated(why.into())
}

/// Checks the session in its own tenant: not revoked, not expired, not idle (an idle session is
/// marked ended), membership active, tenant active. Records activity at most every
/// [`TOUCH_INTERVAL`]. Commit even when it fails, so an idle session stays ended.
pub(crate) async fn check(
    tx: &Transaction<'_>,
    session: Uuid,
    user: Uuid,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<LiveSession, Error> {
    let s = store::state(tx, session, user, tenant, now)
        .await?
        .ok_or_else(|| unauthenticated("the session does not exist"))?;
    if s.ended {
        return Err(unauthenticated("the session has ended"));
    }
    if s.idle {
        store::revoke(tx, session, "idle", now).await?;
        return Err(unauthenticated("the session expired after inactivity"));
    }
    if s.tenant_status != "active" {
        return Err(Error::Unauthenticated(format!("the tenant is {}", s.tenant_status)));
    }
    if s.member_status != "active" {
        return Err(unauthenticated("the membership is not active"));
    }
    if now - s.last_activity_at >= TOUCH_INTERVAL {
        store::touch(tx, session, now).await?;
    }
    Ok(LiveSession { roles: effective_roles(s.roles, Some(&s.tenant_kind)), limits: s.limits })
}

/// A new refresh token of `session`: its id and the secret to hand out.
async fn issue_refresh(
    tx: &Transaction<'_>,
    tenant: TenantId,
    session: Uuid,
    now: DateTime<Utc>,
) -> Result<(Uuid, String), Error> {
    let (token, hash) = new_secret(tenant.as_uuid())?;
    let id = Uuid::now_v7();
    store::insert_refresh(tx, id, tenant, session, &hash, now).await?;
    Ok((id, token))
}

/// The session's identity, as its tokens name it.
struct Holder {
    user: Uuid,
    tenant: TenantId,
    session: Uuid,
}

async fn pair(
    keys: &SigningKeys,
    who: Holder,
    roles: Vec<String>,
    refresh_token: String,
    now: DateTime<Utc>,
) -> Result<TokenPair, Error> {
    let claims = AccessClaims::new(who.user, who.tenant, roles.clone(), who.session, now);
    let access_token = keys.issue(&claims).await.map_err(|e| Error::Internal(e.to_string()))?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        refresh_token,
        refresh_expires_in: REFRESH_TOKEN_TTL.num_seconds(),
        session_id: who.session,
        tenant_id: who.tenant.as_uuid(),
        user_id: who.user,
        roles,
    })
}

/// Starts a session for `user` in `tenant` and returns its tokens. `tx` must be scoped to that
/// tenant and user ([`crate::platform::db::scoped_tx`]); the caller has authenticated the user and
/// checked that the membership and the tenant are active.
pub async fn start(
    tx: &Transaction<'_>,
    keys: &SigningKeys,
    user: Uuid,
    tenant: TenantId,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<TokenPair, Error> {
    let (roles, idle_setting, kind) = store::start_facts(tx, tenant, user).await?;
    // As the guard does: platform roles count only in the platform tenant.
    let roles = effective_roles(roles, kind.as_deref());
    let session = Uuid::now_v7();
    let idle_timeout_seconds = idle_timeout_seconds(idle_setting);
    store::insert(tx, &store::NewSession { id: session, tenant, user, caller, idle_timeout_seconds, now })
        .await?;
    let (_, refresh) = issue_refresh(tx, tenant, session, now).await?;
    pair(keys, Holder { user, tenant, session }, roles, refresh, now).await
}

/// Ends a session; its access tokens stop at their next request, its refresh tokens at once.
pub(crate) async fn revoke(
    tx: &Transaction<'_>,
    session: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    Ok(store::revoke(tx, session, reason, now).await?)
}

/// What spending a refresh token came to.
pub(crate) enum Refreshed {
    /// The next pair (commit).
    Tokens(TokenPair),
    /// The token was spent before: its session is revoked (audit it, commit, refuse).
    Reused { session: Uuid, user: Uuid },
    /// The session is no longer live (commit, then refuse with this).
    Ended(Error),
}

/// Spends the refresh token with `hash` of `tenant` (the transaction is scoped to the tenant; the
/// token's user is scoped here). An unknown or expired token is an error (roll back).
pub(crate) async fn refresh(
    tx: &Transaction<'_>,
    keys: &SigningKeys,
    tenant: TenantId,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Refreshed, Error> {
    let refused = || unauthenticated("the refresh token is not valid");
    let token = store::refresh_token(tx, hash).await?.ok_or_else(refused)?;
    crate::platform::db::scope_user(tx, token.user).await?;
    if token.used_at.is_some() {
        // Replay of a spent token: whoever holds the family is not to be trusted.
        revoke(tx, token.session, "refresh_token_reuse", now).await?;
        return Ok(Refreshed::Reused { session: token.session, user: token.user });
    }
    if token.expires_at <= now {
        return Err(refused());
    }
    let live = match check(tx, token.session, token.user, tenant, now).await {
        Ok(l) => l,
        Err(e) => return Ok(Refreshed::Ended(e)),
    };
    let (next_id, next) = issue_refresh(tx, tenant, token.session, now).await?;
    store::spend_refresh(tx, token.id, next_id, now).await?;
    let who = Holder { user: token.user, tenant, session: token.session };
    Ok(Refreshed::Tokens(pair(keys, who, live.roles, next, now).await?))
}

/// Whether `p` may switch to `target` without a second factor: the session's second factor was
/// verified. Refuses when the caller is no active member of an active `target`, or signed in with
/// single sign-on.
pub(crate) async fn check_switch(
    tx: &Transaction<'_>,
    p: &Principal,
    target: TenantId,
) -> Result<bool, Error> {
    if !crate::identity::store::memberships::is_active_in_active_tenant(tx, target, p.user_id).await? {
        return Err(Error::Forbidden("you are not an active member of that tenant".into()));
    }
    // How the current session began decides what the switch needs.
    let (method, mfa_verified) = store::method(tx, p.session_id).await?;
    if method == "sso" {
        // The identity provider vouched for this person to one tenant only.
        return Err(Error::Forbidden(
            "a single sign-on session cannot switch tenants; sign in to that tenant".into(),
        ));
    }
    Ok(mfa_verified)
}

/// Moves `p` to `target`: a new session there (second factor carried over when verified), the
/// current one ends.
pub(crate) async fn switch(
    tx: &Transaction<'_>,
    keys: &SigningKeys,
    p: &Principal,
    target: TenantId,
    mfa_verified: bool,
) -> Result<TokenPair, Error> {
    let tokens = start(tx, keys, p.user_id, target, &p.caller, p.now).await?;
    if mfa_verified {
        store::set_mfa_verified(tx, tokens.session_id).await?;
    }
    revoke(tx, p.session_id, "switched_tenant", p.now).await?;
    Ok(tokens)
}

/// The live sessions of `p`'s person, newest first (theirs is `current`).
pub(crate) async fn list(tx: &Transaction<'_>, p: &Principal) -> Result<Vec<SessionView>, Error> {
    Ok(store::live_of(tx, p.user_id, p.session_id, p.now).await?)
}

/// Ends one of `p`'s own live sessions (not found when there is none).
pub(crate) async fn revoke_own(tx: &Transaction<'_>, p: &Principal, session: Uuid) -> Result<(), Error> {
    if !store::revoke_own(tx, session, p.user_id, p.now).await? {
        return Err(Error::NotFound(format!("session {session}")));
    }
    Ok(())
}
