//! Single sign-on's routes: start and finish a sign-in (public), and the tenant's provider
//! configuration (admins). The flow's rules are in [`crate::identity::service::sso`].

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::identity::model::LoginResult;
use crate::identity::model::Principal;
use crate::identity::model::parse_secret;
use crate::identity::model::{Email, LOGIN_TTL, Member, Provider, SsoProvider, SsoProviderConfig};
use crate::identity::openid::IdClaims;
use crate::identity::service::sessions::start;
use crate::identity::service::sso as service;
use crate::identity::store;
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::{ApiJson, ApiQuery, Caller};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The tenant (slug or id) whose provider to use.
    pub tenant: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SsoStart {
    /// Where to send the browser (the same URL is in `Location`).
    pub authorization_url: String,
}

/// The cookie that binds a sign-in to the browser that started it (so a leaked callback URL —
/// code and state — is useless elsewhere, and nobody can log a victim into their account).
pub const BINDING_COOKIE: &str = "rg_sso_binding";

/// Starts single sign-on: redirects to the provider's authorization endpoint with `state`,
/// `nonce` and a PKCE challenge, and sets the binding cookie the callback requires.
#[utoipa::path(get, path = "/api/v1/auth/sso/{provider}", operation_id = "auth_sso_start", tag = "identity",
    params(("provider" = String, Path, description = "The tenant's provider name, e.g. google"), StartQuery),
    responses(
        (status = 302, description = "To the identity provider (also in the body); sets the binding cookie", body = SsoStart),
        (status = 404, description = "No such active tenant or provider", body = crate::Problem),
    ))]
pub async fn begin(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<StartQuery>,
) -> Result<Response, ApiError> {
    let started = service::begin(&state, &q.tenant, &name).await?;
    let url = started.authorization_url;
    let mut res = Json(SsoStart { authorization_url: url.to_string() }).into_response();
    *res.status_mut() = http::StatusCode::FOUND;
    if let Ok(v) = http::HeaderValue::from_str(url.as_str()) {
        res.headers_mut().insert(http::header::LOCATION, v);
    }
    let secure = if started.redirect_uri.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!(
        "{BINDING_COOKIE}={}; Path=/api/v1/auth/sso; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        started.binding,
        LOGIN_TTL.num_seconds()
    );
    if let Ok(v) = http::HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(http::header::SET_COOKIE, v);
    }
    Ok(res)
}

/// The binding cookie's value, from the `Cookie` header.
fn binding_cookie(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == BINDING_COOKIE).then(|| v.to_owned())
        })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when the user or the provider refused.
    pub error: Option<String>,
}

/// Finishes single sign-on: checks `state` and the browser binding, exchanges the code with the
/// PKCE verifier, verifies the ID token, and signs the member in (matched by verified email, or
/// provisioned as a new user if the tenant allows) — or answers a second-factor challenge when the
/// user has an authenticator or the tenant requires one.
#[utoipa::path(get, path = "/api/v1/auth/sso/{provider}/callback", operation_id = "auth_sso_callback", tag = "identity",
    params(("provider" = String, Path, description = "The provider name"), CallbackQuery),
    responses(
        (status = 200, description = "Signed in, or a second factor is needed", body = LoginResult),
        (status = 401, description = "Wrong or used state, another browser, a refused exchange, or an ID token that fails verification", body = crate::Problem),
        (status = 403, description = "No active member with that verified email, and no provisioning of it here", body = crate::Problem),
    ))]
pub async fn callback(
    State(state): State<AppState>,
    caller: Caller,
    headers: http::HeaderMap,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Result<Json<LoginResult>, ApiError> {
    if let Some(error) = q.error {
        return Err(ApiError::Unauthenticated(format!("the identity provider answered {error}")));
    }
    let refused = || ApiError::Unauthenticated("the single sign-on state is invalid, used or expired".into());
    let (tenant, state_hash) = q.state.as_deref().and_then(parse_secret).ok_or_else(refused)?;
    let code = q.code.ok_or_else(|| {
        ApiError::Validation(vec![FieldError::new("query:code", "required", "the provider sent no code")])
    })?;
    let binding = binding_cookie(&headers).ok_or_else(|| {
        ApiError::Unauthenticated("finish single sign-on in the browser that started it".into())
    })?;
    let tenant = TenantId::from_uuid(tenant);
    let now = state.clock().now();
    let (pending, p) = service::spend_state(&state, tenant, &name, &state_hash, &binding, now).await?;
    let (claims, email) = service::identify(&state, &p, pending, code, now).await?;
    let signed_in =
        SignedIn { tenant, name: &name, provider: &p, claims: &claims, email: &email, caller: &caller };
    sign_in(&state, signed_in, now).await.map(Json)
}

/// A verified sign-in, to be matched to a member and given a session.
struct SignedIn<'a> {
    tenant: TenantId,
    name: &'a str,
    provider: &'a Provider,
    claims: &'a IdClaims,
    email: &'a Email,
    caller: &'a Caller,
}

/// The member (matched or provisioned), audited, and their session — or the second-factor
/// challenge the gateway's own MFA still asks for.
async fn sign_in(
    state: &AppState,
    s: SignedIn<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<LoginResult, ApiError> {
    let keys = crate::identity::keys::of(state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(s.tenant), None).await?;
    let Member { user, provisioned } = service::member(&tx, s.tenant, s.provider, s.email, now).await?;
    crate::platform::db::scope_user(&tx, user).await?;
    let actor = Actor::person("user", user, Some(s.tenant), s.caller);
    if provisioned {
        let entry = Entry::new("user.provisioned_by_sso", "user", user)
            .after(serde_json::json!({ "provider": s.name, "email": s.email.as_str() }));
        audit::record_as(&tx, Some(s.tenant), &actor, now, entry).await?;
    }
    if let Some(challenge) =
        crate::identity::service::mfa::challenge_if_needed(&tx, user, s.tenant, now).await?
    {
        tx.commit().await?;
        return Ok(LoginResult::Challenge(challenge));
    }
    let pair = start(&tx, &keys, user, s.tenant, s.caller, now).await?;
    store::sessions::set_auth_method(&tx, pair.session_id, "sso").await?;
    let entry = Entry::new("session.login", "session", pair.session_id)
        .after(serde_json::json!({ "sso": s.name, "subject": s.claims.sub }));
    audit::record_as(&tx, Some(s.tenant), &actor, now, entry).await?;
    tx.commit().await?;
    Ok(LoginResult::Tokens(pair))
}

/// Configures one of the acting tenant's identity providers.
#[utoipa::path(put, path = "/api/v1/sso/providers/{name}", operation_id = "sso_providers_put", tag = "identity",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Provider name: google, microsoft, okta, ...")),
    request_body = SsoProviderConfig,
    responses(
        (status = 200, description = "Saved", body = SsoProvider),
        (status = 422, description = "Invalid configuration", body = crate::Problem),
    ))]
pub async fn put_provider(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<SsoProviderConfig>,
) -> Result<Json<SsoProvider>, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let saved = service::configure(&state, &tx, &principal, &name, &req).await?;
    let entry = Entry::new("sso.provider_configured", "sso_provider", &name).after(&saved);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(saved))
}

/// The acting tenant's identity providers.
#[utoipa::path(get, path = "/api/v1/sso/providers", operation_id = "sso_providers_list", tag = "identity",
    security(("bearer" = [])),
    responses((status = 200, description = "The providers", body = Vec<SsoProvider>)))]
pub async fn list_providers(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<SsoProvider>>, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let out = service::providers(&state, &tx, principal.tenant, None).await?;
    tx.commit().await?;
    Ok(Json(out))
}
