//! The second factor's routes: completing a login with it (`verify`, `email`), and enrolling,
//! confirming and removing an authenticator. Second-factor tries are limited like logins: per
//! client IP and per user, failing closed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::model::{
    EMAIL_CODE_TTL, Enrolment, Principal, RecoveryCodes, Sent, TokenPair, check_one_code, parse_secret,
};
use crate::identity::service::mfa as service;
use crate::identity::service::sessions::start;
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::crypto::sealing_key;
use crate::platform::db::scoped_tx;
use crate::platform::error::ApiError;
use crate::platform::events;
use crate::platform::http::ApiJson;
use crate::platform::http::Caller;
use crate::platform::rate_limit;
use crate::platform::state::AppState;

fn refused() -> ApiError {
    ApiError::Unauthenticated("the sign-in challenge is invalid, used or expired".into())
}

/// Per client IP first (before anything about the challenge is known)...
async fn limit_ip(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    match &caller.ip {
        Some(ip) => {
            rate_limit::enforce(
                state,
                &format!("mfa-ip:{ip}"),
                rate_limit::LOGIN_PER_IP,
                rate_limit::WhenDown::Closed,
            )
            .await
        }
        None => Ok(()),
    }
}

/// ...then per user, once the challenge proved to be real (so nobody can spend a victim's budget
/// with junk tokens naming their user id).
async fn limit_user(state: &AppState, user: Uuid) -> Result<(), ApiError> {
    rate_limit::enforce(
        state,
        &format!("mfa:{user}"),
        rate_limit::LOGIN_PER_EMAIL,
        rate_limit::WhenDown::Closed,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub challenge_token: String,
    /// A 6-digit code from the authenticator or the email.
    pub code: Option<String>,
    /// One of the recovery codes (each works once).
    pub recovery_code: Option<String>,
}

/// Completes a login with its second factor: tokens, as a login without one would return.
#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", operation_id = "auth_mfa_verify", tag = "identity",
    request_body = Verify,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Wrong code, or the challenge is invalid, used, expired or out of attempts", body = crate::Problem),
        (status = 429, description = "Too many tries for this user", body = crate::Problem),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<Verify>,
) -> Result<Json<TokenPair>, ApiError> {
    let (user, hash) = parse_secret(&req.challenge_token).ok_or_else(refused)?;
    let codes = (req.code.as_deref(), req.recovery_code.as_deref());
    check_one_code(codes.0, codes.1)?;
    limit_ip(&state, &caller).await?;
    let now = state.clock().now();
    let keys = crate::identity::keys::of(&state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, None, Some(user)).await?;
    let challenge = service::load_challenge(&tx, &hash, now).await?;
    limit_user(&state, user).await?;
    let method = service::second_factor(&state, &tx, user, &challenge, codes, now).await?;
    let tenant = challenge.tenant;
    crate::platform::db::scope_tenant(&tx, tenant).await?;
    let actor = Actor::person("user", user, Some(tenant), &caller);
    let Some(method) = method else {
        service::count_attempt(&tx, &challenge).await?;
        tx.commit().await?;
        return Err(ApiError::InvalidSecondFactor);
    };
    service::complete(&tx, &challenge, now).await?;
    if method == "recovery_code" {
        let entry = Entry::new("mfa.recovery_code_used", "user", user);
        audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
    }
    if !service::still_member(&tx, tenant, user).await? {
        tx.commit().await?;
        return Err(ApiError::Forbidden("no active membership in that tenant any more".into()));
    }
    let tokens = start(&tx, &keys, user, tenant, &caller, now).await?;
    service::mark_verified(&tx, tokens.session_id).await?;
    let entry =
        Entry::new("session.login", "session", tokens.session_id).after(serde_json::json!({ "mfa": method }));
    audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
    tx.commit().await?;
    Ok(Json(tokens))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailCodeRequest {
    pub challenge_token: String,
}

/// Emails a one-time code for a pending login (the alternative to an authenticator).
#[utoipa::path(post, path = "/api/v1/auth/mfa/email", operation_id = "auth_mfa_email", tag = "identity",
    request_body = EmailCodeRequest,
    responses(
        (status = 202, description = "A code is on its way to the user's email", body = Sent),
        (status = 401, description = "The challenge is invalid, used or expired", body = crate::Problem),
        (status = 409, description = "The user has an authenticator: no code by email", body = crate::Problem),
    ))]
pub async fn email_code(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<EmailCodeRequest>,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    let (user, hash) = parse_secret(&req.challenge_token).ok_or_else(refused)?;
    limit_ip(&state, &caller).await?;
    let now = state.clock().now();
    let db = state.db().await?;
    let mut conn = db.conn().await?;
    let tx = scoped_tx(&mut conn, None, Some(user)).await?;
    let challenge = service::load_challenge(&tx, &hash, now).await?;
    limit_user(&state, user).await?;
    let envelope = service::email_code_for(&state, &tx, user, &challenge, now).await?;
    tx.commit().await?;
    events::publish_committed(&state, &[envelope]).await?;
    Ok((StatusCode::ACCEPTED, Json(Sent { status: "sent", expires_in: EMAIL_CODE_TTL.num_seconds() })))
}

/// Starts TOTP enrolment: a new secret, unconfirmed until `POST /api/v1/auth/mfa/confirm`.
#[utoipa::path(post, path = "/api/v1/auth/mfa/setup", operation_id = "auth_mfa_setup", tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The secret to enter in an authenticator", body = Enrolment),
        (status = 409, description = "An authenticator is already enrolled (disable it first)", body = crate::Problem),
    ))]
pub async fn setup(State(state): State<AppState>, principal: Principal) -> Result<Json<Enrolment>, ApiError> {
    let key = sealing_key(&state).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let enrolment = service::setup(&key, &tx, &principal).await?;
    tx.commit().await?;
    Ok(Json(enrolment))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub code: String,
}

/// Confirms TOTP enrolment with a first valid code; answers the recovery codes (shown once).
#[utoipa::path(post, path = "/api/v1/auth/mfa/confirm", operation_id = "auth_mfa_confirm", tag = "identity",
    security(("bearer" = [])),
    request_body = Confirm,
    responses(
        (status = 200, description = "Enrolled", body = RecoveryCodes),
        (status = 401, description = "The code is wrong", body = crate::Problem),
        (status = 409, description = "No enrolment in progress", body = crate::Problem),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<Confirm>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let key = sealing_key(&state).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let codes = service::confirm(&key, &tx, &principal, &req.code).await?;
    audit::record(&tx, &principal, Entry::new("mfa.enrolled", "user", principal.user_id)).await?;
    tx.commit().await?;
    Ok(Json(codes))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disable {
    /// A current authenticator code...
    pub code: Option<String>,
    /// ...or a recovery code.
    pub recovery_code: Option<String>,
}

/// Removes the authenticator; needs a fresh factor (a current code or a recovery code).
#[utoipa::path(post, path = "/api/v1/auth/mfa/disable", operation_id = "auth_mfa_disable", tag = "identity",
    security(("bearer" = [])),
    request_body = Disable,
    responses(
        (status = 204, description = "Disabled; recovery codes void"),
        (status = 401, description = "The code is wrong", body = crate::Problem),
        (status = 409, description = "No authenticator enrolled", body = crate::Problem),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<Disable>,
) -> Result<StatusCode, ApiError> {
    limit_user(&state, principal.user_id).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let codes = (req.code.as_deref(), req.recovery_code.as_deref());
    if service::disable(&state, &tx, &principal, codes).await? {
        audit::record(&tx, &principal, Entry::new("mfa.recovery_code_used", "user", principal.user_id))
            .await?;
    }
    audit::record(&tx, &principal, Entry::new("mfa.disabled", "user", principal.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
