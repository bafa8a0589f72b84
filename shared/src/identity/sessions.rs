//! Sessions and the tokens they hand out: a 15-minute access token naming the session, and a 7-day
//! refresh token. A session is one refresh-token family: each refresh spends its token and issues
//! the next, and presenting a spent token revokes the session (someone replayed it).
//!
//! [`start`] is the one way a session begins (login, tenant switch) — and, with the real signer,
//! the way the test suites mint tokens without running argon2 for every test user.

use aws_lc_rs::digest::{SHA256, digest};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Transaction;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::keys::SigningKeys;
use super::principal::{Principal, check_session};
use super::tokens::{ACCESS_TOKEN_TTL, AccessClaims};
use crate::platform::audit::Acting;
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::ApiJson;
use crate::platform::http::Caller;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

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

async fn issue_refresh(
    tx: &Transaction<'_>,
    tenant: TenantId,
    session: Uuid,
    now: DateTime<Utc>,
) -> Result<(Uuid, String), ApiError> {
    let (token, hash) = new_secret(tenant.as_uuid())?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO refresh_tokens (id, tenant_id, session_id, token_hash, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&id, &tenant.as_uuid(), &session, &hash, &now, &(now + REFRESH_TOKEN_TTL)],
    )
    .await?;
    Ok((id, token))
}

async fn pair(
    keys: &SigningKeys,
    user: Uuid,
    tenant: TenantId,
    session: Uuid,
    roles: Vec<String>,
    refresh_token: String,
    now: DateTime<Utc>,
) -> Result<TokenPair, ApiError> {
    let claims = AccessClaims::new(user, tenant, roles.clone(), session, now);
    let access_token = keys.issue(&claims).await.map_err(ApiError::internal)?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        refresh_token,
        refresh_expires_in: REFRESH_TOKEN_TTL.num_seconds(),
        session_id: session,
        tenant_id: tenant.as_uuid(),
        user_id: user,
        roles,
    })
}

/// Starts a session for `user` in `tenant` and returns its tokens. `tx` must be scoped to that
/// tenant and user ([`scoped_tx`]); the caller has authenticated the user and checked that the
/// membership and the tenant are active.
pub async fn start(
    tx: &Transaction<'_>,
    keys: &SigningKeys,
    user: Uuid,
    tenant: TenantId,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<TokenPair, ApiError> {
    let row = tx
        .query_one(
            "SELECT ARRAY(SELECT role_code FROM role_grants WHERE tenant_id = $1 AND user_id = $2 ORDER BY 1),
                    (SELECT CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{}')::numeric::integer END
                       FROM tenant_settings WHERE tenant_id = $1 AND key = $3),
                    (SELECT kind FROM tenants WHERE id = $1)",
            &[&tenant.as_uuid(), &user, &IDLE_SETTING],
        )
        .await?;
    let platform = row.get::<_, Option<String>>(2).as_deref() == Some("platform");
    let roles: Vec<String> = row.get(0);
    // As the guard does: platform roles count only in the platform tenant.
    let roles =
        roles.into_iter().filter(|r| platform || !crate::identity::model::is_platform_role(r)).collect();
    let idle_minutes =
        row.get::<_, Option<i32>>(1).map(i64::from).unwrap_or(DEFAULT_IDLE_MINUTES).clamp(1, 1440);
    let session = Uuid::now_v7();
    tx.execute(
        "INSERT INTO sessions (id, tenant_id, user_id, device_fingerprint, ip, user_agent,
                               idle_timeout_seconds, created_at, last_activity_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        &[
            &session,
            &tenant.as_uuid(),
            &user,
            &caller.device_fingerprint,
            &caller.ip,
            &caller.user_agent,
            &((idle_minutes * 60) as i32),
            &now,
            &(now + SESSION_MAX_AGE),
        ],
    )
    .await?;
    let (_, refresh) = issue_refresh(tx, tenant, session, now).await?;
    pair(keys, user, tenant, session, roles, refresh, now).await
}

/// Ends a session; its access tokens stop at their next request, its refresh tokens at once.
pub async fn revoke(
    tx: &Transaction<'_>,
    session: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let n = tx
        .execute(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
            &[&session, &now, &reason],
        )
        .await?;
    Ok(n > 0)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Spends a refresh token for a new pair. A spent token presented again revokes its session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", operation_id = "auth_refresh", tag = "identity",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the presented refresh token is spent", body = TokenPair),
        (status = 401, description = "Unknown, expired or reused token, or the session ended", body = crate::Problem),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    let refused = || ApiError::Unauthenticated("the refresh token is not valid".into());
    let (tenant, hash) = parse_secret(&req.refresh_token).ok_or_else(refused)?;
    let tenant = TenantId::from_uuid(tenant);
    let now = state.clock().now();
    let keys = crate::identity::keys::of(&state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    let row = tx
        .query_opt(
            "SELECT rt.id, rt.session_id, rt.used_at, rt.expires_at, s.user_id
               FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
              WHERE rt.token_hash = $1 FOR UPDATE OF rt",
            &[&hash],
        )
        .await?
        .ok_or_else(refused)?;
    let (token_id, session, user): (Uuid, Uuid, Uuid) = (row.get(0), row.get(1), row.get(4));
    let (used_at, expires_at): (Option<DateTime<Utc>>, DateTime<Utc>) = (row.get(2), row.get(3));
    crate::platform::db::scope_user(&tx, user).await?;
    if used_at.is_some() {
        // Replay of a spent token: whoever holds the family is not to be trusted.
        revoke(&tx, session, "refresh_token_reuse", now).await?;
        let actor = Actor::person("anonymous", user, Some(tenant), &caller);
        audit::record_as(
            &tx,
            Some(tenant),
            &actor,
            now,
            Entry::new("session.refresh_reuse_revoked", "session", session),
        )
        .await?;
        tx.commit().await?;
        return Err(ApiError::Unauthenticated(
            "the refresh token was already used; the session is revoked".into(),
        ));
    }
    if expires_at <= now {
        return Err(refused());
    }
    let live = check_session(&tx, session, user, tenant, now).await;
    let live = match live {
        Ok(l) => l,
        Err(e) => {
            tx.commit().await?;
            return Err(e);
        }
    };
    let (next_id, next) = issue_refresh(&tx, tenant, session, now).await?;
    tx.execute(
        "UPDATE refresh_tokens SET used_at = $2, replaced_by = $3 WHERE id = $1",
        &[&token_id, &now, &next_id],
    )
    .await?;
    let tokens = pair(&keys, user, tenant, session, live.roles, next, now).await?;
    tx.commit().await?;
    Ok(Json(tokens))
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", operation_id = "auth_logout", tag = "identity", security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked"),
        (status = 401, description = "Not signed in", body = crate::Problem),
    ))]
pub async fn logout(State(state): State<AppState>, principal: Principal) -> Result<StatusCode, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    revoke(&tx, principal.session_id, "logout", principal.now).await?;
    audit::record(&tx, &principal, Entry::new("session.logout", "session", principal.session_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchTenantRequest {
    pub tenant_id: Uuid,
}

/// Moves the caller to another tenant they belong to: a new session there, the current one ends.
#[utoipa::path(post, path = "/api/v1/auth/switch-tenant", operation_id = "auth_switch_tenant", tag = "identity", security(("bearer" = [])),
    request_body = SwitchTenantRequest,
    responses(
        (status = 200, description = "Tokens for the chosen tenant, or a second-factor challenge if it requires one", body = super::login::LoginResult),
        (status = 403, description = "Not an active member of that tenant, or it is suspended", body = crate::Problem),
    ))]
pub async fn switch_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<SwitchTenantRequest>,
) -> Result<Json<super::login::LoginResult>, ApiError> {
    let target = TenantId::from_uuid(req.tenant_id);
    let keys = crate::identity::keys::of(&state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(target), Some(principal.user_id)).await?;
    let ok = tx
        .query_opt(
            "SELECT 1 FROM tenant_users m JOIN tenants t ON t.id = m.tenant_id
              WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.status = 'active' AND t.status = 'active'",
            &[&target.as_uuid(), &principal.user_id],
        )
        .await?;
    if ok.is_none() {
        return Err(ApiError::Forbidden("you are not an active member of that tenant".into()));
    }
    // How the current session began decides what the switch needs.
    let current = tx
        .query_one("SELECT auth_method, mfa_verified FROM sessions WHERE id = $1", &[&principal.session_id])
        .await?;
    let (method, mfa_verified): (String, bool) = (current.get(0), current.get(1));
    if method == "sso" {
        // The identity provider vouched for this person to one tenant only.
        return Err(ApiError::Forbidden(
            "a single sign-on session cannot switch tenants; sign in to that tenant".into(),
        ));
    }
    if !mfa_verified {
        if let Some(challenge) =
            super::mfa::challenge_if_needed(&tx, principal.user_id, target, principal.now).await?
        {
            tx.commit().await?;
            return Ok(Json(super::login::LoginResult::Challenge(challenge)));
        }
    }
    let tokens = start(&tx, &keys, principal.user_id, target, &principal.caller, principal.now).await?;
    if mfa_verified {
        tx.execute("UPDATE sessions SET mfa_verified = true WHERE id = $1", &[&tokens.session_id]).await?;
    }
    revoke(&tx, principal.session_id, "switched_tenant", principal.now).await?;
    let actor = principal.actor();
    let entry = Entry::new("session.switched_tenant", "session", tokens.session_id).before(
        serde_json::json!({ "tenant_id": principal.home_tenant, "session_id": principal.session_id }),
    );
    audit::record_as(&tx, Some(target), &actor, principal.now, entry).await?;
    tx.commit().await?;
    Ok(Json(super::login::LoginResult::Tokens(tokens)))
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

/// The caller's live sessions in every tenant, newest first.
#[utoipa::path(get, path = "/api/v1/auth/sessions", operation_id = "auth_sessions_list", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "Live sessions", body = Vec<SessionView>)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            "SELECT id, tenant_id, device_fingerprint, ip, user_agent, created_at, last_activity_at,
                    idle_timeout_seconds
               FROM sessions
              WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
                AND last_activity_at + make_interval(secs => idle_timeout_seconds) > $2
              ORDER BY id DESC LIMIT 200",
            &[&principal.user_id, &principal.now],
        )
        .await?;
    let out = rows
        .iter()
        .map(|r| SessionView {
            id: r.get(0),
            tenant_id: r.get(1),
            current: r.get::<_, Uuid>(0) == principal.session_id,
            device_fingerprint: r.get(2),
            ip: r.get(3),
            user_agent: r.get(4),
            created_at: r.get(5),
            last_activity_at: r.get(6),
            idle_timeout_seconds: r.get(7),
        })
        .collect();
    tx.commit().await?;
    Ok(Json(out))
}

/// Revokes one of the caller's own sessions (signs out another device).
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", operation_id = "auth_sessions_revoke", tag = "identity", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such live session of yours", body = crate::Problem),
    ))]
pub async fn revoke_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::Validation(vec![FieldError::new("path:id", "invalid", "not a session id")]))?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let n = tx
        .execute(
            "UPDATE sessions SET revoked_at = $3, revoked_reason = 'revoked_by_user'
              WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
            &[&id, &principal.user_id, &principal.now],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound(format!("session {id}")));
    }
    audit::record(&tx, &principal, Entry::new("session.revoked", "session", id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
