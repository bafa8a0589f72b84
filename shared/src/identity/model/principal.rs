//! The caller every non-public route runs as ([`Principal`]), and the pure rules of the guard:
//! which permissions roles hold and what scope a route's permission reaches for a caller.
//! Extracting it from a request is `api::principal`'s job.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::Error;
use crate::identity::policy::Access;
use crate::identity::roles::{Permission, Scope};
use crate::platform::http::Caller;
use crate::platform::tenant::TenantId;

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
    /// Whether the caller holds `wanted` (at its scope or wider).
    pub fn holds(&self, wanted: &Permission) -> bool {
        self.permissions.iter().any(|p| p.grants(wanted))
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

/// The live session's facts.
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

/// Platform staff roles take effect only in the platform tenant, whatever a grant says.
pub(crate) fn effective_roles(roles: Vec<String>, tenant_kind: Option<&str>) -> Vec<String> {
    let platform = tenant_kind == Some("platform");
    roles.into_iter().filter(|r| platform || !super::is_platform_role(r)).collect()
}

/// What the route's permission grants this caller: the widest scope held, `all` required when
/// acting for another tenant.
pub(crate) fn authorize(
    access: Access,
    held: &[Permission],
    is_key: bool,
    cross: bool,
) -> Result<Scope, Error> {
    let wanted = match access {
        Access::Public => return Err(Error::Internal("a public route asked for a principal".into())),
        Access::Session if is_key => {
            return Err(Error::Forbidden(
                "this route is for signed-in people; an API key has no session".into(),
            ));
        }
        Access::Session if cross => {
            return Err(Error::Forbidden("self-service routes act for your own tenant only".into()));
        }
        Access::Session => return Ok(Scope::Tenant),
        Access::Permission(p) => p.parse::<Permission>().map_err(|e| Error::Internal(e.to_string()))?,
    };
    let at = |scope: Scope| {
        let w = wanted.with_scope(scope);
        held.iter().any(|p| p.grants(&w))
    };
    let needed = if cross { Scope::All } else { wanted.scope() };
    let held = [Scope::All, Scope::Tenant, Scope::Own].into_iter().find(|s| *s >= needed && at(*s));
    match held {
        Some(s) => Ok(s),
        None if cross => Err(Error::Forbidden(format!(
            "acting for another tenant needs {}",
            wanted.with_scope(Scope::All)
        ))),
        None => Err(Error::Forbidden(format!("needs {wanted}"))),
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

    #[test]
    fn platform_roles_count_only_in_the_platform_tenant() {
        let held = vec!["SUPPORT".to_string(), "TENANT_ADMIN".to_string()];
        assert_eq!(effective_roles(held.clone(), Some("clinic")), vec!["TENANT_ADMIN".to_string()]);
        assert_eq!(effective_roles(held.clone(), Some("platform")), held);
    }
}
