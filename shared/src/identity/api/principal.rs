//! The guard every non-public route runs: who is calling (a verified access token whose session is
//! still live, or an API key), which tenant they act for, and whether the route's declared
//! permission ([`crate::identity::policy`]) is granted. Handlers receive a [`Principal`] and open
//! their transactions through it, so the database sees the same tenant the guard checked.
//!
//! Revocation: every request checks the session row (one indexed query, no cache), so logout,
//! session revocation, idling past the tenant's timeout, deactivating the membership and suspending
//! the tenant stop a token on its next request. Roles are read from the grants at the same time,
//! so a role change applies at once too; the token's `roles` claim is informational.

use axum::extract::{FromRequestParts, MatchedPath};
use deadpool_postgres::{Object, Transaction};
use http::request::Parts;
use http::{HeaderName, header};
use uuid::Uuid;

use crate::identity::model::{
    API_KEY_PREFIX, Principal, TenantLimits, authorize, parse_key, role_permissions,
};
use crate::identity::policy::{RoutePolicy, policy};
use crate::identity::roles::Scope;
use crate::identity::service::sessions;
use crate::platform::audit::{self, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::Caller;
use crate::platform::rate_limit;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const TENANT_HEADER: HeaderName = HeaderName::from_static("x-tenant-id");
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

impl Principal {
    /// A transaction in the acting tenant, with the user set for the self-service policies.
    pub async fn tx<'a>(&self, conn: &'a mut Object) -> Result<Transaction<'a>, ApiError> {
        scoped_tx(conn, Some(self.tenant), Some(self.user_id)).await.map_err(ApiError::from)
    }

    /// The acting tenant's kind: `platform`, `vendor` or a customer kind.
    pub async fn tenant_kind(&self, tx: &tokio_postgres::Transaction<'_>) -> Result<String, ApiError> {
        Ok(crate::identity::store::tenants::kind(tx, self.tenant).await?)
    }
}

/// How the caller authenticates: an access token, or an API key (`X-Api-Key`, or a bearer token
/// with the key prefix).
enum Credential<'a> {
    AccessToken(&'a str),
    ApiKey(&'a str),
}

fn credential(parts: &Parts) -> Result<Credential<'_>, ApiError> {
    if let Some(v) = parts.headers.get(API_KEY_HEADER) {
        let key = v.to_str().map_err(|_| ApiError::Unauthenticated("malformed X-Api-Key header".into()))?;
        return Ok(Credential::ApiKey(key.trim()));
    }
    let token = bearer(parts)?;
    Ok(if token.starts_with(API_KEY_PREFIX) {
        Credential::ApiKey(token)
    } else {
        Credential::AccessToken(token)
    })
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthenticated("no Authorization header".into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(ApiError::Unauthenticated("expected Authorization: Bearer <token>".into())),
    }
}

fn acting_tenant(parts: &Parts) -> Result<Option<TenantId>, ApiError> {
    let Some(v) = parts.headers.get(TENANT_HEADER) else { return Ok(None) };
    v.to_str().ok().and_then(|s| s.trim().parse().ok()).map(Some).ok_or_else(|| {
        ApiError::Validation(vec![FieldError::new("header:X-Tenant-Id", "invalid", "not a tenant id (UUID)")])
    })
}

/// The caller of a verified access token with a live session, and its tenant's limits.
async fn by_token(
    state: &AppState,
    conn: &mut Object,
    token: &str,
    caller: Caller,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Principal, TenantLimits), ApiError> {
    let keys = crate::identity::keys::of(state).await;
    let claims = keys.verify(token).await.map_err(|e| match e {
        crate::identity::tokens::TokenError::Ring(reason) => ApiError::internal(reason),
        other => ApiError::Unauthenticated(other.to_string()),
    })?;
    let tx = scoped_tx(conn, Some(claims.tid), Some(claims.sub)).await?;
    let live = sessions::check(&tx, claims.sid, claims.sub, claims.tid, now).await;
    // Idle sessions are marked ended even though the request fails.
    tx.commit().await?;
    let live = live?;
    let principal = Principal {
        user_id: claims.sub,
        key_id: None,
        home_tenant: claims.tid,
        tenant: claims.tid,
        session_id: claims.sid,
        permissions: role_permissions(&live.roles),
        roles: live.roles,
        scope: Scope::Tenant,
        cross_tenant: false,
        caller,
        now,
    };
    Ok((principal, live.limits))
}

/// The caller of a live API key, and its tenant's limits.
async fn by_key(
    conn: &mut Object,
    key: &str,
    caller: Caller,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Principal, TenantLimits), ApiError> {
    let (tenant, hash) =
        parse_key(key).ok_or_else(|| ApiError::Unauthenticated("the API key is not valid".into()))?;
    let tx = scoped_tx(conn, Some(tenant), None).await?;
    let live = crate::identity::service::api_keys::check(&tx, tenant, &hash, now).await?;
    tx.commit().await?;
    let principal = Principal {
        user_id: live.created_by,
        key_id: Some(live.id),
        home_tenant: live.tenant,
        tenant: live.tenant,
        session_id: Uuid::nil(),
        roles: Vec::new(),
        permissions: live.permissions,
        scope: Scope::Tenant,
        cross_tenant: false,
        caller,
        now,
    };
    Ok((principal, live.limits))
}

/// Holds the caller's tenant to its per-minute limit of the route's class, shared by every
/// instance; the first refusal of a window is audited.
async fn enforce_limit(
    state: &AppState,
    conn: &mut Object,
    principal: &Principal,
    limits: TenantLimits,
    route: (&RoutePolicy, &str),
) -> Result<(), ApiError> {
    let (class, per_minute) = if route.0.mutates() {
        ("write", limits.write.map_or(rate_limit::DEFAULT_WRITE_PER_MINUTE, |n| n.max(1) as u32))
    } else {
        ("read", limits.read.map_or(rate_limit::DEFAULT_READ_PER_MINUTE, |n| n.max(1) as u32))
    };
    let key = format!("tenant:{}:{class}", principal.home_tenant);
    let limited = rate_limit::enforce_noting(
        state,
        &key,
        rate_limit::Limit::per_minute(per_minute),
        rate_limit::WhenDown::Open,
    )
    .await;
    let Err((refusal, first)) = limited else { return Ok(()) };
    if first {
        // A tenant hitting its limit is worth a line in its audit log, once per window.
        let tx = principal.tx(conn).await?;
        let entry = Entry::new("rate_limit.exceeded", "route_class", class)
            .after(serde_json::json!({ "limit_per_minute": per_minute, "route": route.1 }));
        audit::record(&tx, principal, entry).await?;
        tx.commit().await?;
    }
    Err(refusal)
}

/// Acting for another tenant: it must exist, and the access is audited in it before the handler
/// runs.
async fn enter_tenant(conn: &mut Object, principal: &Principal, route: &str) -> Result<(), ApiError> {
    let tx = principal.tx(conn).await?;
    if !crate::identity::store::tenants::exists(&tx, principal.tenant).await? {
        return Err(ApiError::NotFound(format!("tenant {}", principal.tenant)));
    }
    audit::record(&tx, principal, Entry::new("tenant.cross_access", "route", route)).await?;
    tx.commit().await?;
    Ok(())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let path = parts.extensions.get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
        let route = policy(parts.method.as_str(), &path).ok_or_else(|| {
            ApiError::internal(format!("{} {path} declares no access policy", parts.method))
        })?;
        let requested = acting_tenant(parts)?;
        let now = state.clock().now();
        let caller = Caller::of(parts);
        let mut conn = state.db().await?.conn().await?;
        let (mut principal, limits) = match credential(parts)? {
            Credential::AccessToken(token) => by_token(state, &mut conn, token, caller, now).await?,
            Credential::ApiKey(key) => by_key(&mut conn, key, caller, now).await?,
        };
        let called = format!("{} {path}", parts.method);
        enforce_limit(state, &mut conn, &principal, limits, (route, &called)).await?;
        let cross = requested.is_some_and(|t| t != principal.home_tenant);
        principal.scope = authorize(route.access, &principal.permissions, principal.key_id.is_some(), cross)?;
        principal.cross_tenant = cross;
        principal.tenant = requested.unwrap_or(principal.home_tenant);
        if cross {
            enter_tenant(&mut conn, &principal, &called).await?;
        }
        Ok(principal)
    }
}
