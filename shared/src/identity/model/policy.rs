//! Who may call each route: the one table the guard reads and the tests enumerate. Each function
//! declares its access in the registry; the table is generated from those declarations. A route
//! absent from it cannot authenticate anyone (the guard answers 500).

use crate::identity::roles::Permission;

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, login, the links in emails).
    Public,
    /// Any signed-in principal, acting only on itself (its session, its profile, the role matrix).
    Session,
    /// A principal whose roles grant this `resource:action[:scope]` permission.
    Permission(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Every route's policy, written by `local-runner generate` from the registry's declarations: a
/// plain table, so the guard in each function does not link the other functions' handlers.
mod table;
pub use table::ROUTES;

pub(crate) const fn r(method: &'static str, path: &'static str, access: Access) -> RoutePolicy {
    RoutePolicy { method, path, access }
}

/// The policy of the route matched as `method path` (path as declared, e.g. `/api/v1/users/{id}`).
pub fn policy(method: &str, path: &str) -> Option<&'static RoutePolicy> {
    ROUTES.iter().find(|p| p.method.eq_ignore_ascii_case(method) && p.path == path)
}

impl RoutePolicy {
    /// True for routes that change state: any method but GET, unless the route declares a `read`
    /// permission (a POST that only computes: a quote, a resolution, a promotion check).
    pub fn mutates(&self) -> bool {
        !matches!(self.method, "GET" | "HEAD" | "OPTIONS") && !self.permission().is_some_and(|p| p.is_read())
    }

    pub fn permission(&self) -> Option<Permission> {
        match self.access {
            Access::Permission(p) => p.parse().ok(),
            Access::Public | Access::Session => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::roles::ROLES;

    #[test]
    fn every_declared_permission_parses_and_no_route_is_declared_twice() {
        let mut seen = std::collections::BTreeSet::new();
        for p in ROUTES {
            if let Access::Permission(perm) = p.access {
                assert!(perm.parse::<Permission>().is_ok(), "{} {}: {perm}", p.method, p.path);
            }
            assert!(seen.insert((p.method, p.path)), "{} {} twice", p.method, p.path);
        }
    }

    #[test]
    fn read_only_roles_are_granted_no_mutating_route() {
        for route in ROUTES.iter().filter(|r| r.mutates()) {
            let Some(wanted) = route.permission() else { continue };
            for role in ROLES.iter().filter(|r| r.read_only) {
                // At any scope: not even their own objects.
                let own = wanted.with_scope(crate::identity::roles::Scope::Own);
                assert!(!role.grants(&own), "{} may {} {}", role.code, route.method, route.path);
            }
        }
    }
}
