//! The guard every non-public route runs: who is calling (a verified access token whose session is
//! still live), which tenant they act for, and whether the route's declared permission
//! ([`super::policy`]) is granted. Handlers receive a [`Principal`] and open their transactions
//! through it, so the database sees the same tenant the guard checked.
//!
//! Revocation: every request checks the session row (one indexed query, no cache), so logout,
//! session revocation, idling past the tenant's timeout, deactivating the membership and suspending
//! the tenant stop a token on its next request. Roles are read from the grants at the same time,
//! so a role change applies at once too; the token's `roles` claim is informational.

use axum::extract::{FromRequestParts, MatchedPath};
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{Object, Transaction};
use http::request::Parts;
use http::{HeaderName, header};
use uuid::Uuid;

use super::policy::{Access, policy};
use crate::identity::roles::{Permission, Scope};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::Caller;
use crate::platform::rate_limit;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const TENANT_HEADER: HeaderName = HeaderName::from_static("x-tenant-id");
/// A session's last activity is written at most this often (so idle expiry is exact to this).
pub const TOUCH_INTERVAL: Duration = Duration::seconds(30);

/// An authenticated caller — a person with a session, or an API key — allowed on the route it
/// called.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The person: the signed-in user, or the user who created the API key (and answers for it).
    pub user_id: Uuid,
    /// The API key acting, when it is one (then there is no session).
    pub key_id: Option<Uuid>,
    /// The tenant of the session (the user's own membership).
    pub home_tenant: TenantId,
    /// The tenant this request acts for: the home tenant, or the `X-Tenant-Id` a cross-tenant
    /// principal named.
    pub tenant: TenantId,
    /// The session (nil for an API key, which never reaches a session route).
    pub session_id: Uuid,
    /// Roles granted in the home tenant, read at this request (none for an API key).
    pub roles: Vec<String>,
    /// What the caller may do: its roles' permissions, or the API key's (as far as its creator
    /// still holds them).
    pub permissions: Vec<Permission>,
    /// How far the route's permission reaches for this caller (`own`: only their own objects).
    pub scope: Scope,
    pub cross_tenant: bool,
    pub caller: Caller,
    pub now: DateTime<Utc>,
}

impl Principal {
    /// A transaction in the acting tenant, with the user set for the self-service policies.
    pub async fn tx<'a>(&self, conn: &'a mut Object) -> Result<Transaction<'a>, ApiError> {
        scoped_tx(conn, Some(self.tenant), Some(self.user_id)).await.map_err(ApiError::from)
    }

    /// Whether the caller holds `wanted` (at its scope or wider).
    pub fn holds(&self, wanted: &Permission) -> bool {
        self.permissions.iter().any(|p| p.grants(wanted))
    }

    /// The acting tenant's kind: `platform`, `vendor` or a customer kind.
    pub async fn tenant_kind(&self, tx: &tokio_postgres::Transaction<'_>) -> Result<String, ApiError> {
        Ok(super::store::tenants::kind(tx, self.tenant).await?)
    }

    pub fn may(&self, permission: &str) -> bool {
        permission.parse::<Permission>().is_ok_and(|p| self.holds(&p))
    }
}

impl crate::platform::audit::Acting for Principal {
    fn actor(&self) -> crate::platform::audit::Actor<'_> {
        crate::platform::audit::Actor {
            kind: if self.key_id.is_some() { "api_key" } else { "user" },
            user_id: Some(self.user_id),
            key_id: self.key_id,
            tenant_id: Some(self.home_tenant),
            caller: &self.caller,
            cross_tenant: self.cross_tenant,
        }
    }
    fn acting_tenant(&self) -> TenantId {
        self.tenant
    }
    fn at(&self) -> DateTime<Utc> {
        self.now
    }
}

/// Every permission `roles` hold.
pub fn role_permissions(roles: &[String]) -> Vec<Permission> {
    roles.iter().filter_map(|r| crate::identity::roles::role(r)).flat_map(|r| r.parsed()).collect()
}

/// The live session's facts, or why it is not live.
pub(crate) struct LiveSession {
    pub roles: Vec<String>,
    pub limits: TenantLimits,
}

/// The home tenant's per-minute limits by route class, when its settings override the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TenantLimits {
    pub read: Option<i32>,
    pub write: Option<i32>,
}

/// SQL for the two limit settings of the tenant in column `tenant`.
pub(crate) fn limits_sql(tenant: &str) -> String {
    format!(
        "(SELECT CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{{}}')::numeric::integer END
            FROM tenant_settings WHERE tenant_id = {tenant} AND key = 'rate_limit.read_per_minute'),
         (SELECT CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{{}}')::numeric::integer END
            FROM tenant_settings WHERE tenant_id = {tenant} AND key = 'rate_limit.write_per_minute')"
    )
}

/// Checks the session in its own tenant: not revoked, not expired, not idle, membership active,
/// tenant active. Records activity at most every [`TOUCH_INTERVAL`].
pub(crate) async fn check_session(
    tx: &Transaction<'_>,
    session: Uuid,
    user: Uuid,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<LiveSession, ApiError> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT t.status, m.status, s.last_activity_at,
                    s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) <= $4 AS idle,
                    s.revoked_at IS NOT NULL OR s.expires_at <= $4 AS ended,
                    ARRAY(SELECT g.role_code FROM role_grants g
                          WHERE g.tenant_id = s.tenant_id AND g.user_id = s.user_id ORDER BY 1),
                    t.kind, {}
               FROM sessions s
               JOIN tenants t ON t.id = s.tenant_id
               JOIN tenant_users m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
              WHERE s.id = $1 AND s.user_id = $2 AND s.tenant_id = $3",
                limits_sql("s.tenant_id")
            ),
            &[&session, &user, &tenant.as_uuid(), &now],
        )
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("the session does not exist".into()))?;
    let (tenant_status, member_status): (String, String) = (row.get(0), row.get(1));
    let last: DateTime<Utc> = row.get(2);
    if row.get::<_, bool>(4) {
        return Err(ApiError::Unauthenticated("the session has ended".into()));
    }
    if row.get::<_, bool>(3) {
        tx.execute(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = 'idle' WHERE id = $1 AND revoked_at IS NULL",
            &[&session, &now],
        )
        .await?;
        return Err(ApiError::Unauthenticated("the session expired after inactivity".into()));
    }
    if tenant_status != "active" {
        return Err(ApiError::Unauthenticated(format!("the tenant is {tenant_status}")));
    }
    if member_status != "active" {
        return Err(ApiError::Unauthenticated("the membership is not active".into()));
    }
    if now - last >= TOUCH_INTERVAL {
        tx.execute("UPDATE sessions SET last_activity_at = $2 WHERE id = $1", &[&session, &now]).await?;
    }
    // Platform staff roles take effect only in the platform tenant, whatever a grant says.
    let platform = row.get::<_, String>(6) == "platform";
    let roles: Vec<String> = row.get(5);
    let roles =
        roles.into_iter().filter(|r| platform || !crate::identity::model::is_platform_role(r)).collect();
    Ok(LiveSession { roles, limits: TenantLimits { read: row.get(7), write: row.get(8) } })
}

/// How the caller authenticates: an access token, or an API key (`X-Api-Key`, or a bearer token
/// with the key prefix).
enum Credential<'a> {
    AccessToken(&'a str),
    ApiKey(&'a str),
}

fn credential(parts: &Parts) -> Result<Credential<'_>, ApiError> {
    if let Some(v) = parts.headers.get(super::api_keys::HEADER) {
        let key = v.to_str().map_err(|_| ApiError::Unauthenticated("malformed X-Api-Key header".into()))?;
        return Ok(Credential::ApiKey(key.trim()));
    }
    let token = bearer(parts)?;
    Ok(if token.starts_with(super::api_keys::PREFIX) {
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

/// What the route's permission grants this caller: the widest scope held, `all` required when
/// acting for another tenant.
fn authorize(access: Access, held: &[Permission], is_key: bool, cross: bool) -> Result<Scope, ApiError> {
    let wanted = match access {
        Access::Public => return Err(ApiError::internal("a public route asked for a principal")),
        Access::Session if is_key => {
            return Err(ApiError::Forbidden(
                "this route is for signed-in people; an API key has no session".into(),
            ));
        }
        Access::Session if cross => {
            return Err(ApiError::Forbidden("self-service routes act for your own tenant only".into()));
        }
        Access::Session => return Ok(Scope::Tenant),
        Access::Permission(p) => p.parse::<Permission>().map_err(ApiError::internal)?,
    };
    let at = |scope: Scope| {
        let w = wanted.with_scope(scope);
        held.iter().any(|p| p.grants(&w))
    };
    let needed = if cross { Scope::All } else { wanted.scope() };
    let held = [Scope::All, Scope::Tenant, Scope::Own].into_iter().find(|s| *s >= needed && at(*s));
    match held {
        Some(s) => Ok(s),
        None if cross => Err(ApiError::Forbidden(format!(
            "acting for another tenant needs {}",
            wanted.with_scope(Scope::All)
        ))),
        None => Err(ApiError::Forbidden(format!("needs {wanted}"))),
    }
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
        let limits: TenantLimits;
        let mut principal = match credential(parts)? {
            Credential::AccessToken(token) => {
                let keys = crate::identity::keys::of(state).await;
                let claims = keys.verify(token).await.map_err(|e| match e {
                    super::tokens::TokenError::Ring(reason) => ApiError::internal(reason),
                    other => ApiError::Unauthenticated(other.to_string()),
                })?;
                let tx = scoped_tx(&mut conn, Some(claims.tid), Some(claims.sub)).await?;
                let live = check_session(&tx, claims.sid, claims.sub, claims.tid, now).await;
                // Idle sessions are marked ended even though the request fails.
                tx.commit().await?;
                let live = live?;
                limits = live.limits;
                Principal {
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
                }
            }
            Credential::ApiKey(key) => {
                let live = super::api_keys::check(&mut conn, key, now).await?;
                limits = live.limits;
                Principal {
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
                }
            }
        };
        // The caller's tenant, per route class, shared by every instance.
        let (class, per_minute) = if route.mutates() {
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
        if let Err((refusal, first)) = limited {
            if first {
                // A tenant hitting its limit is worth a line in its audit log, once per window.
                let tx = principal.tx(&mut conn).await?;
                let entry = crate::platform::audit::Entry::new("rate_limit.exceeded", "route_class", class).after(
                    serde_json::json!({ "limit_per_minute": per_minute, "route": format!("{} {path}", parts.method) }),
                );
                crate::platform::audit::record(&tx, &principal, entry).await?;
                tx.commit().await?;
            }
            return Err(refusal);
        }
        let cross = requested.is_some_and(|t| t != principal.home_tenant);
        principal.scope = authorize(route.access, &principal.permissions, principal.key_id.is_some(), cross)?;
        principal.cross_tenant = cross;
        let tenant = requested.unwrap_or(principal.home_tenant);
        principal.tenant = tenant;
        if cross {
            // The tenant must exist; the access is audited in it before the handler runs.
            let tx = principal.tx(&mut conn).await?;
            let status: Option<String> = tx
                .query_opt("SELECT status FROM tenants WHERE id = $1", &[&tenant.as_uuid()])
                .await?
                .map(|r| r.get(0));
            if status.is_none() {
                return Err(ApiError::NotFound(format!("tenant {tenant}")));
            }
            crate::platform::audit::record(
                &tx,
                &principal,
                crate::platform::audit::Entry::new(
                    "tenant.cross_access",
                    "route",
                    format!("{} {path}", parts.method),
                ),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<Permission> {
        role_permissions(&r.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn scope_is_the_widest_held_and_cross_tenant_needs_all() {
        let p = Access::Permission("users:read:own");
        assert_eq!(authorize(p, &roles(&["TENANT_USER"]), false, false).ok(), Some(Scope::Own));
        assert_eq!(authorize(p, &roles(&["TENANT_ADMIN"]), false, false).ok(), Some(Scope::Tenant));
        assert_eq!(authorize(p, &roles(&["SUPPORT"]), false, true).ok(), Some(Scope::All));
        assert!(authorize(p, &roles(&["TENANT_ADMIN"]), false, true).is_err(), "a tenant admin cannot cross");
        let write = Access::Permission("users:update");
        assert!(authorize(write, &roles(&["TENANT_USER"]), false, false).is_err());
        assert!(authorize(write, &roles(&["AUDITOR"]), false, true).is_err());
        assert_eq!(authorize(write, &roles(&["PLATFORM_ADMIN"]), false, true).ok(), Some(Scope::All));
        assert!(authorize(Access::Session, &roles(&["SUPER_ADMIN"]), false, true).is_err());
        assert!(
            authorize(Access::Session, &roles(&["SUPER_ADMIN"]), true, false).is_err(),
            "keys have no session"
        );
    }
}
