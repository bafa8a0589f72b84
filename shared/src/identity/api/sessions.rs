//! Sessions for the signed-in person: refresh, logout, switch tenant, list and revoke their
//! sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::model::{LoginResult, Principal, SessionView, TokenPair, parse_secret};
use crate::identity::service::sessions::{self as service, Refreshed};
use crate::platform::audit::Acting;
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::ApiJson;
use crate::platform::http::Caller;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

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
    let (tenant, hash) = parse_secret(&req.refresh_token)
        .ok_or_else(|| ApiError::Unauthenticated("the refresh token is not valid".into()))?;
    let tenant = TenantId::from_uuid(tenant);
    let now = state.clock().now();
    let keys = crate::identity::keys::of(&state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    match service::refresh(&tx, &keys, tenant, &hash, now).await? {
        Refreshed::Tokens(tokens) => {
            tx.commit().await?;
            Ok(Json(tokens))
        }
        Refreshed::Reused { session, user } => {
            let actor = Actor::person("anonymous", user, Some(tenant), &caller);
            let entry = Entry::new("session.refresh_reuse_revoked", "session", session);
            audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
            tx.commit().await?;
            Err(ApiError::Unauthenticated(
                "the refresh token was already used; the session is revoked".into(),
            ))
        }
        Refreshed::Ended(e) => {
            tx.commit().await?;
            Err(e.into())
        }
    }
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
    service::revoke(&tx, principal.session_id, "logout", principal.now).await?;
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
        (status = 200, description = "Tokens for the chosen tenant, or a second-factor challenge if it requires one", body = LoginResult),
        (status = 403, description = "Not an active member of that tenant, or it is suspended", body = crate::Problem),
    ))]
pub async fn switch_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<SwitchTenantRequest>,
) -> Result<Json<LoginResult>, ApiError> {
    let target = TenantId::from_uuid(req.tenant_id);
    let keys = crate::identity::keys::of(&state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(target), Some(principal.user_id)).await?;
    let mfa_verified = service::check_switch(&tx, &principal, target).await?;
    if !mfa_verified {
        if let Some(challenge) =
            crate::identity::service::mfa::challenge_if_needed(&tx, principal.user_id, target, principal.now)
                .await?
        {
            tx.commit().await?;
            return Ok(Json(LoginResult::Challenge(challenge)));
        }
    }
    let tokens = service::switch(&tx, &keys, &principal, target, mfa_verified).await?;
    let actor = principal.actor();
    let entry = Entry::new("session.switched_tenant", "session", tokens.session_id).before(
        serde_json::json!({ "tenant_id": principal.home_tenant, "session_id": principal.session_id }),
    );
    audit::record_as(&tx, Some(target), &actor, principal.now, entry).await?;
    tx.commit().await?;
    Ok(Json(LoginResult::Tokens(tokens)))
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
    let out = service::list(&tx, &principal).await?;
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
    service::revoke_own(&tx, &principal, id).await?;
    audit::record(&tx, &principal, Entry::new("session.revoked", "session", id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
