//! Login by email and password (rate-limited per email and per client before any work), and
//! `GET /api/v1/auth/me`.

use axum::Json;
use axum::extract::State;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::model::{LoginResult, Me, Principal, normalize_email, short_hash};
use crate::identity::service::login::{self as service, Attempt};
use crate::identity::service::sessions::start;
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::ApiError;
use crate::platform::http::ApiJson;
use crate::platform::http::Caller;
use crate::platform::rate_limit;
use crate::platform::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// The tenant to sign in to, for users in several; default: their first active membership.
    pub tenant_id: Option<Uuid>,
}

/// Guessing is limited per email and per client before any work, across every instance; if the
/// limiter is down, logins are refused rather than left unlimited.
async fn limit(state: &AppState, email: &str, caller: &Caller) -> Result<(), ApiError> {
    let email_key = format!("login-email:{}", short_hash(email));
    let ip_key = caller.ip.as_ref().map(|ip| (format!("login-ip:{ip}"), rate_limit::LOGIN_PER_IP));
    for (key, limit) in std::iter::once((email_key, rate_limit::LOGIN_PER_EMAIL)).chain(ip_key) {
        if let Err((refusal, first)) =
            rate_limit::enforce_noting(state, &key, limit, rate_limit::WhenDown::Closed).await
        {
            if first {
                // The lockout is on record once per window, next to the attempts it stopped.
                let conn = state.db().await?.conn().await?;
                service::record_rate_limited(&**conn, email, caller, state.clock().now()).await?;
            }
            return Err(refusal);
        }
    }
    Ok(())
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", operation_id = "auth_login", tag = "identity",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (tokens), or a second factor is needed (challenge)", body = LoginResult),
        (status = 401, description = "Wrong email or password (one answer for both)", body = crate::Problem),
        (status = 403, description = "Right password, but no active membership (in the named tenant)", body = crate::Problem),
        (status = 429, description = "Locked after repeated failures; see Retry-After", body = crate::Problem),
        (status = 503, description = "The rate limiter cannot be reached: login fails closed (Retry-After)", body = crate::Problem),
    ))]
pub async fn login(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResult>, ApiError> {
    let email = normalize_email(&req.email, "email")?;
    limit(&state, &email, &caller).await?;
    let keys = crate::identity::keys::of(&state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, None, None).await?;
    service::lock_email(&tx, &email).await?;
    // The time is read in turn, so attempts are recorded in the order they were decided.
    let now = state.clock().now();
    let (user, tenant) =
        match service::attempt(&tx, &email, req.password, req.tenant_id, &caller, now).await? {
            Attempt::Accepted { user, tenant } => (user, tenant),
            Attempt::Refused(e) => {
                tx.commit().await?;
                return Err(e.into());
            }
        };
    // A user with an authenticator, or whose tenant requires a second factor for their roles, gets
    // a challenge now and tokens from POST /api/v1/auth/mfa/verify.
    if let Some(challenge) =
        crate::identity::service::mfa::challenge_if_needed(&tx, user, tenant, now).await?
    {
        tx.commit().await?;
        return Ok(Json(LoginResult::Challenge(challenge)));
    }
    let tokens = start(&tx, &keys, user, tenant, &caller, now).await?;
    let actor = Actor::person("user", user, Some(tenant), &caller);
    let entry = Entry::new("session.login", "session", tokens.session_id);
    audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
    tx.commit().await?;
    Ok(Json(LoginResult::Tokens(tokens)))
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
    let me = service::me(&tx, &principal).await?;
    tx.commit().await?;
    Ok(Json(me))
}
