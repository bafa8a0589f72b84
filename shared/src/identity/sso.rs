//! Single sign-on with OpenID Connect: the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, against issuers each tenant configures (Google, Microsoft, Okta are rows of
//! `sso_providers`, not code paths). Discovery documents and JWKS are fetched and cached per
//! instance (an hour; the JWKS again at once when an ID token names an unknown key). The ID token's
//! signature, `iss`, `aud`, `exp` (on the injected clock) and `nonce` are verified; the user is
//! matched by verified email among the tenant's active members, or provisioned with the provider's
//! default role when the tenant allows it.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::digest::{SHA256, digest};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::principal::Principal;
use super::sessions::{new_secret, parse_secret, start};
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::Caller;
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const LOGIN_TTL: Duration = Duration::minutes(10);
pub const CACHE_TTL: Duration = Duration::hours(1);
/// Clock skew tolerated on the ID token's `exp`.
pub const LEEWAY: Duration = Duration::seconds(30);

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

struct Cached {
    discovery: Discovery,
    jwks: JwkSet,
    fetched_at: DateTime<Utc>,
}

fn cache() -> &'static Mutex<HashMap<String, Arc<Cached>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Cached>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The HTTP client for identity providers (rustls over aws-lc, Mozilla roots), one per instance.
fn http() -> Result<&'static reqwest::Client, ApiError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ApiError::internal)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(ApiError::internal)?;
    Ok(CLIENT.get_or_init(|| client))
}

fn provider_error(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "{what}");
    ApiError::Unauthenticated(format!("single sign-on failed: {what}"))
}

/// Where the gateway may call an identity provider: https to a public host. On a local stack plain
/// http and loopback are allowed too (the test provider). Keeps a tenant admin's issuer, or the
/// endpoints its discovery document names, from pointing the gateway at internal addresses.
fn check_outbound(url: &str, local: bool) -> Result<(), ApiError> {
    let u = reqwest::Url::parse(url).map_err(|e| provider_error("an endpoint is not a URL", e))?;
    if local {
        return if matches!(u.scheme(), "http" | "https") {
            Ok(())
        } else {
            Err(provider_error("an endpoint is not http(s)", url))
        };
    }
    if u.scheme() != "https" {
        return Err(provider_error("an endpoint is not https", url));
    }
    let host = u.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let internal = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
        Err(_) => {
            host.is_empty()
                || host == "localhost"
                || host.ends_with(".localhost")
                || host.ends_with(".internal")
        }
    };
    if internal {
        return Err(provider_error("an endpoint points at an internal address", url));
    }
    Ok(())
}

async fn fetch_json<T: serde::de::DeserializeOwned>(url: &str, local: bool) -> Result<T, ApiError> {
    check_outbound(url, local)?;
    let res = http()?
        .get(url)
        .send()
        .await
        .map_err(|e| provider_error("the identity provider did not answer", e))?;
    if !res.status().is_success() {
        return Err(provider_error("the identity provider refused", res.status()));
    }
    res.json().await.map_err(|e| provider_error("the identity provider's answer is malformed", e))
}

/// Discovery and JWKS of `issuer`, cached; `refresh` forces both to be fetched again.
async fn metadata(
    issuer: &str,
    now: DateTime<Utc>,
    refresh: bool,
    local: bool,
) -> Result<Arc<Cached>, ApiError> {
    let key = issuer.trim_end_matches('/').to_owned();
    if !refresh {
        if let Some(c) = cache().lock().await.get(&key) {
            if now - c.fetched_at < CACHE_TTL {
                return Ok(c.clone());
            }
        }
    }
    let discovery: Discovery = fetch_json(&format!("{key}/.well-known/openid-configuration"), local).await?;
    if discovery.issuer.trim_end_matches('/') != key {
        return Err(provider_error("the discovery document names another issuer", &discovery.issuer));
    }
    check_outbound(&discovery.authorization_endpoint, local)?;
    check_outbound(&discovery.token_endpoint, local)?;
    let jwks: JwkSet = fetch_json(&discovery.jwks_uri, local).await?;
    let cached = Arc::new(Cached { discovery, jwks, fetched_at: now });
    cache().lock().await.insert(key, cached.clone());
    Ok(cached)
}

/// A tenant's configured provider.
struct Provider {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    scopes: String,
    allow_provisioning: bool,
    default_role: Option<String>,
}

async fn provider(
    state: &AppState,
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: TenantId,
    name: &str,
) -> Result<Provider, ApiError> {
    let row = tx
        .query_opt(
            "SELECT issuer, client_id, client_secret_sealed, scopes, allow_provisioning, default_role
               FROM sso_providers WHERE tenant_id = $1 AND name = $2 AND enabled",
            &[&tenant.as_uuid(), &name],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("single sign-on provider {name}")))?;
    let sealed: Option<Vec<u8>> = row.get(2);
    let client_secret = match sealed {
        Some(s) => Some(
            String::from_utf8(crate::platform::crypto::open(
                &crate::platform::crypto::sealing_key(state).await?,
                tenant.as_uuid(),
                &s,
            )?)
            .map_err(ApiError::internal)?,
        ),
        None => None,
    };
    Ok(Provider {
        issuer: row.get(0),
        client_id: row.get(1),
        client_secret,
        scopes: row.get(3),
        allow_provisioning: row.get(4),
        default_role: row.get(5),
    })
}

fn callback_url(state: &AppState, name: &str) -> String {
    let base =
        state.config().env.get("PUBLIC_API_URL").unwrap_or("http://127.0.0.1:3000").trim_end_matches('/');
    format!("{base}/api/v1/auth/sso/{name}/callback")
}

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
    let now = state.clock().now();
    let tenant = resolve_tenant(&state, &q.tenant).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    let active = tx
        .query_opt("SELECT 1 FROM tenants WHERE id = $1 AND status = 'active'", &[&tenant.as_uuid()])
        .await?;
    if active.is_none() {
        return Err(ApiError::NotFound(format!("tenant {}", q.tenant)));
    }
    let p = provider(&state, &tx, tenant, &name).await?;
    let meta = metadata(&p.issuer, now, false, state.config().stage == "local").await?;
    let (state_token, state_hash) = new_secret(tenant.as_uuid())?;
    let (nonce, verifier, binding) = (
        crate::platform::crypto::random_token()?,
        crate::platform::crypto::random_token()?,
        crate::platform::crypto::random_token()?,
    );
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    let redirect_uri = callback_url(&state, &name);
    tx.execute(
        "INSERT INTO sso_logins (id, tenant_id, provider, state_hash, nonce, pkce_verifier, redirect_uri,
                                 binding_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &Uuid::now_v7(),
            &tenant.as_uuid(),
            &name,
            &state_hash,
            &nonce,
            &verifier,
            &redirect_uri,
            &digest(&SHA256, binding.as_bytes()).as_ref().to_vec(),
            &now,
            &(now + LOGIN_TTL),
        ],
    )
    .await?;
    tx.commit().await?;
    let mut url = reqwest::Url::parse(&meta.discovery.authorization_endpoint)
        .map_err(|e| provider_error("the authorization endpoint is not a URL", e))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &p.scopes)
        .append_pair("state", &state_token)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut res = Json(SsoStart { authorization_url: url.to_string() }).into_response();
    *res.status_mut() = http::StatusCode::FOUND;
    if let Ok(v) = http::HeaderValue::from_str(url.as_str()) {
        res.headers_mut().insert(http::header::LOCATION, v);
    }
    let secure = if redirect_uri.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!(
        "{BINDING_COOKIE}={binding}; Path=/api/v1/auth/sso; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
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

/// A tenant by id, or by slug (through `identity_tenant_by_slug`: before a tenant is known the
/// application role sees no tenant row).
async fn resolve_tenant(state: &AppState, raw: &str) -> Result<TenantId, ApiError> {
    if let Ok(id) = raw.parse::<TenantId>() {
        return Ok(id);
    }
    let conn = state.db().await?.conn().await?;
    let id: Option<Uuid> = conn.query_one("SELECT identity_tenant_by_slug($1)", &[&raw]).await?.get(0);
    id.map(TenantId::from_uuid).ok_or_else(|| ApiError::NotFound(format!("tenant {raw}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when the user or the provider refused.
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: String,
}

#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    exp: i64,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
}

/// Verifies an ID token: signature by a key of the issuer's JWKS, `iss`, `aud`, `exp` at `now`
/// (with [`LEEWAY`]) and `nonce`.
fn verify_id_token(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<Option<IdClaims>, ApiError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| provider_error("the ID token is malformed", e))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256 | Algorithm::PS256) {
        return Err(provider_error("the ID token's algorithm is not accepted", format!("{:?}", header.alg)));
    }
    let Some(jwk) = header.kid.as_deref().and_then(|kid| jwks.find(kid)) else { return Ok(None) };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| provider_error("the provider's key is unusable", e))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.validate_exp = false;
    validation.required_spec_claims = ["exp", "iss", "aud", "sub"].iter().map(|s| s.to_string()).collect();
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map_err(|e| provider_error("the ID token is not valid for this client", e))?
        .claims;
    if now.timestamp() >= claims.exp + LEEWAY.num_seconds() {
        return Err(provider_error("the ID token has expired", claims.exp));
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(provider_error("the ID token's nonce does not match", "nonce"));
    }
    Ok(Some(claims))
}

/// Finishes single sign-on: checks `state` and the browser binding, exchanges the code with the
/// PKCE verifier, verifies the ID token, and signs the member in (matched by verified email, or
/// provisioned as a new user if the tenant allows) — or answers a second-factor challenge when the
/// user has an authenticator or the tenant requires one.
#[utoipa::path(get, path = "/api/v1/auth/sso/{provider}/callback", operation_id = "auth_sso_callback", tag = "identity",
    params(("provider" = String, Path, description = "The provider name"), CallbackQuery),
    responses(
        (status = 200, description = "Signed in, or a second factor is needed", body = super::login::LoginResult),
        (status = 401, description = "Wrong or used state, another browser, a refused exchange, or an ID token that fails verification", body = crate::Problem),
        (status = 403, description = "No active member with that verified email, and no provisioning of it here", body = crate::Problem),
    ))]
pub async fn callback(
    State(state): State<AppState>,
    caller: Caller,
    headers: http::HeaderMap,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Result<Json<super::login::LoginResult>, ApiError> {
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
    let keys = crate::identity::keys::of(&state).await;
    let db = state.db().await?;

    // 1. Spend the state (whatever happens next, a retry needs a new sign-in) and read the provider.
    let (nonce, verifier, redirect_uri, p) = {
        let mut conn = db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        let row = tx
            .query_opt(
                "UPDATE sso_logins SET completed_at = $3
                  WHERE state_hash = $1 AND provider = $2 AND completed_at IS NULL AND expires_at > $3
                    AND binding_hash = $4
                 RETURNING nonce, pkce_verifier, redirect_uri",
                &[&state_hash, &name, &now, &digest(&SHA256, binding.as_bytes()).as_ref().to_vec()],
            )
            .await?
            .ok_or_else(refused)?;
        let p = provider(&state, &tx, tenant, &name).await?;
        tx.commit().await?;
        (row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, String>(2), p)
    };

    // 2. The provider, with no transaction open.
    let meta = metadata(&p.issuer, now, false, state.config().stage == "local").await?;
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", p.client_id.clone()),
        ("code_verifier", verifier),
    ];
    if let Some(secret) = &p.client_secret {
        form.push(("client_secret", secret.clone()));
    }
    let res = http()?
        .post(&meta.discovery.token_endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|e| provider_error("the token endpoint did not answer", e))?;
    if !res.status().is_success() {
        return Err(provider_error("the provider refused the code exchange", res.status()));
    }
    let tokens: TokenResponse =
        res.json().await.map_err(|e| provider_error("the token endpoint's answer is malformed", e))?;
    let issuer = meta.discovery.issuer.clone();
    let claims = match verify_id_token(&tokens.id_token, &meta.jwks, &issuer, &p.client_id, &nonce, now)? {
        Some(c) => c,
        // A key the cached JWKS does not have: the provider rotated; fetch once more.
        None => {
            let fresh = metadata(&p.issuer, now, true, state.config().stage == "local").await?;
            verify_id_token(&tokens.id_token, &fresh.jwks, &issuer, &p.client_id, &nonce, now)?
                .ok_or_else(|| provider_error("the ID token names an unknown key", "kid"))?
        }
    };
    let email = match (claims.email.as_deref(), claims.email_verified) {
        (Some(e), Some(true)) => super::login::normalize_email(e, "email")?,
        _ => return Err(ApiError::Forbidden("the provider did not vouch for an email address".into())),
    };

    // 3. The member, and the session.
    let mut conn = db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    let member: Option<(Uuid, String)> = tx
        .query_opt(
            "SELECT u.id, m.status FROM users u
               JOIN tenant_users m ON m.user_id = u.id AND m.tenant_id = $1
               JOIN tenants t ON t.id = m.tenant_id AND t.status = 'active'
              WHERE u.email = $2",
            &[&tenant.as_uuid(), &email],
        )
        .await?
        .map(|r| (r.get(0), r.get(1)));
    let (user, provisioned) = match member {
        Some((user, status)) if status == "active" => (user, false),
        Some(_) => return Err(ApiError::Forbidden("the membership is not active".into())),
        None if p.allow_provisioning => {
            let active = tx
                .query_opt("SELECT 1 FROM tenants WHERE id = $1 AND status = 'active'", &[&tenant.as_uuid()])
                .await?;
            if active.is_none() {
                return Err(ApiError::Forbidden("the tenant is not active".into()));
            }
            // Only a brand-new person is provisioned: an existing user (of another tenant) joins by
            // invitation, never because some tenant's provider says so.
            let exists: Option<Uuid> = tx
                .query_one("SELECT user_id FROM identity_login_lookup($1, $2)", &[&email, &now])
                .await?
                .get(0);
            if exists.is_some() {
                return Err(ApiError::Forbidden(
                    "this email belongs to an existing user: an admin of the tenant invites them".into(),
                ));
            }
            let role = p.default_role.clone().unwrap_or_else(|| "TENANT_USER".into());
            let user: Uuid = tx
                .query_one("SELECT identity_ensure_user($1, $2, '', $3)", &[&Uuid::now_v7(), &email, &now])
                .await?
                .get(0);
            tx.execute(
                "INSERT INTO tenant_users (tenant_id, user_id, status, created_at, updated_at) VALUES ($1, $2, 'active', $3, $3)",
                &[&tenant.as_uuid(), &user, &now],
            )
            .await?;
            tx.execute(
                "INSERT INTO role_grants (tenant_id, user_id, role_code, granted_at) VALUES ($1, $2, $3, $4)",
                &[&tenant.as_uuid(), &user, &role, &now],
            )
            .await?;
            (user, true)
        }
        None => {
            return Err(ApiError::Forbidden(
                "no member of this tenant has that email, and this provider does not provision users".into(),
            ));
        }
    };
    crate::platform::db::scope_user(&tx, user).await?;
    let actor = Actor::person("user", user, Some(tenant), &caller);
    if provisioned {
        let entry = Entry::new("user.provisioned_by_sso", "user", user)
            .after(serde_json::json!({ "provider": name, "email": email }));
        audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
    }
    // The gateway's own second factor still applies (an authenticator, or the tenant's policy).
    if let Some(challenge) = super::mfa::challenge_if_needed(&tx, user, tenant, now).await? {
        tx.commit().await?;
        return Ok(Json(super::login::LoginResult::Challenge(challenge)));
    }
    let pair = start(&tx, &keys, user, tenant, &caller, now).await?;
    tx.execute("UPDATE sessions SET auth_method = 'sso' WHERE id = $1", &[&pair.session_id]).await?;
    let entry = Entry::new("session.login", "session", pair.session_id)
        .after(serde_json::json!({ "sso": name, "subject": claims.sub }));
    audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
    tx.commit().await?;
    Ok(Json(super::login::LoginResult::Tokens(pair)))
}

/// A tenant's identity provider, as configured (never the client secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoProvider {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub has_client_secret: bool,
    pub scopes: String,
    pub allow_provisioning: bool,
    pub default_role: Option<String>,
    pub enabled: bool,
    /// Where the provider must send users back (register it with the provider).
    pub redirect_uri: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoProviderConfig {
    /// The OpenID issuer URL (its discovery document is `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// For confidential clients; stored encrypted.
    pub client_secret: Option<String>,
    pub scopes: Option<String>,
    /// Create a member on first sign-in when no member has the email (default false).
    pub allow_provisioning: Option<bool>,
    /// The role a provisioned member gets (a tenant-level role; default TENANT_USER).
    pub default_role: Option<String>,
    pub enabled: Option<bool>,
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
    let mut errors = Vec::new();
    if name.is_empty()
        || name.len() > 40
        || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errors.push(FieldError::new("path:name", "invalid", "1-40 of a-z, 0-9 and '-'"));
    }
    // Plain http only on a local stack (the test provider); anywhere else an issuer is https.
    let local = state.config().stage == "local";
    let scheme_ok = |u: &reqwest::Url| u.scheme() == "https" || (local && u.scheme() == "http");
    if !reqwest::Url::parse(&req.issuer).is_ok_and(|u| scheme_ok(&u) && u.host_str().is_some()) {
        errors.push(FieldError::new(
            "issuer",
            "invalid",
            if local { "an http(s) URL" } else { "an https URL" },
        ));
    }
    if req.client_id.trim().is_empty() {
        errors.push(FieldError::new("client_id", "required", "the client id registered with the provider"));
    }
    if let Some(role) = &req.default_role {
        let ok = crate::identity::roles::role(role).is_some()
            && !crate::identity::users::is_platform_role(role)
            && crate::identity::users::may_assign(&principal, role);
        if !ok {
            errors.push(FieldError::new(
                "default_role",
                "not_assignable",
                format!("you cannot grant {role}"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let sealed = match &req.client_secret {
        Some(secret) => Some(crate::platform::crypto::seal(
            &crate::platform::crypto::sealing_key(&state).await?,
            principal.tenant.as_uuid(),
            secret.as_bytes(),
        )?),
        None => None,
    };
    let scopes = req.scopes.clone().unwrap_or_else(|| "openid email profile".into());
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    tx.execute(
        "INSERT INTO sso_providers (tenant_id, name, issuer, client_id, client_secret_sealed, scopes,
                                    allow_provisioning, default_role, enabled, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (tenant_id, name) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
             client_secret_sealed = COALESCE(EXCLUDED.client_secret_sealed, sso_providers.client_secret_sealed),
             scopes = EXCLUDED.scopes, allow_provisioning = EXCLUDED.allow_provisioning,
             default_role = EXCLUDED.default_role, enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at",
        &[
            &principal.tenant.as_uuid(),
            &name,
            &req.issuer.trim_end_matches('/'),
            &req.client_id,
            &sealed,
            &scopes,
            &req.allow_provisioning.unwrap_or(false),
            &req.default_role,
            &req.enabled.unwrap_or(true),
            &principal.now,
        ],
    )
    .await?;
    let saved = list_rows(&state, &tx, &principal, Some(&name))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("saved provider not found"))?;
    audit::record(
        &tx,
        &principal,
        Entry::new("sso.provider_configured", "sso_provider", &name).after(&saved),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(saved))
}

async fn list_rows(
    state: &AppState,
    tx: &deadpool_postgres::Transaction<'_>,
    p: &Principal,
    only: Option<&str>,
) -> Result<Vec<SsoProvider>, ApiError> {
    Ok(tx
        .query(
            "SELECT name, issuer, client_id, client_secret_sealed IS NOT NULL, scopes, allow_provisioning,
                    default_role, enabled
               FROM sso_providers WHERE tenant_id = $1 AND ($2::text IS NULL OR name = $2) ORDER BY name",
            &[&p.tenant.as_uuid(), &only],
        )
        .await?
        .iter()
        .map(|r| {
            let name: String = r.get(0);
            SsoProvider {
                redirect_uri: callback_url(state, &name),
                name,
                issuer: r.get(1),
                client_id: r.get(2),
                has_client_secret: r.get(3),
                scopes: r.get(4),
                allow_provisioning: r.get(5),
                default_role: r.get(6),
                enabled: r.get(7),
            }
        })
        .collect())
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
    let out = list_rows(&state, &tx, &principal, None).await?;
    tx.commit().await?;
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_local_stack_providers_are_https_on_public_hosts() {
        for ok in [
            "https://accounts.google.com",
            "https://login.microsoftonline.com/x/v2.0",
            "https://8.8.8.8/jwks",
        ] {
            assert!(check_outbound(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://accounts.google.com",
            "https://localhost/x",
            "https://127.0.0.1/x",
            "https://10.0.0.5/token",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://metadata.google.internal/x",
            "ftp://example.com",
        ] {
            assert!(check_outbound(bad, false).is_err(), "{bad}");
        }
        assert!(check_outbound("http://127.0.0.1:4000", true).is_ok(), "the local test provider");
    }
}
