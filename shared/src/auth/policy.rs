//! Who may call each route: the one table the guard reads and the tests enumerate. A route absent
//! from it cannot authenticate anyone (the guard answers 500), and a test holds this table equal to
//! the routes of `template.yaml`, so a new route must declare its access here.

use super::super::tenancy::roles::Permission;

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

const fn r(method: &'static str, path: &'static str, access: Access) -> RoutePolicy {
    RoutePolicy { method, path, access }
}

use Access::{Permission as P, Public, Session};

pub static ROUTES: &[RoutePolicy] = &[
    r("GET", "/api/v1/health", Public),
    r("GET", "/api/v1/health/ready", Public),
    r("GET", "/api/v1/openapi.json", Public),
    // Authentication.
    r("POST", "/api/v1/auth/login", Public),
    r("POST", "/api/v1/auth/refresh", Public),
    r("POST", "/api/v1/auth/password-reset", Public),
    r("POST", "/api/v1/auth/password-reset/confirm", Public),
    r("POST", "/api/v1/auth/invitations/accept", Public),
    r("POST", "/api/v1/auth/logout", Session),
    r("GET", "/api/v1/auth/me", Session),
    r("POST", "/api/v1/auth/switch-tenant", Session),
    r("GET", "/api/v1/auth/sessions", Session),
    r("DELETE", "/api/v1/auth/sessions/{id}", Session),
    r("GET", "/api/v1/roles", Session),
    // Second factor: enrolment is self-service; verify and email codes finish a pending login.
    r("POST", "/api/v1/auth/mfa/setup", Session),
    r("POST", "/api/v1/auth/mfa/confirm", Session),
    r("POST", "/api/v1/auth/mfa/disable", Session),
    r("POST", "/api/v1/auth/mfa/verify", Public),
    r("POST", "/api/v1/auth/mfa/email", Public),
    // Single sign-on: the redirect and the callback are public (state, nonce and PKCE bind them);
    // configuring a tenant's providers is its admins' work.
    r("GET", "/api/v1/auth/sso/{provider}", Public),
    r("GET", "/api/v1/auth/sso/{provider}/callback", Public),
    r("PUT", "/api/v1/sso/providers/{name}", P("settings:update")),
    r("GET", "/api/v1/sso/providers", P("settings:read")),
    // Tenants: platform staff only.
    r("POST", "/api/v1/tenants", P("tenants:create:all")),
    r("GET", "/api/v1/tenants", P("tenants:read:all")),
    r("GET", "/api/v1/tenants/{id}", P("tenants:read:all")),
    r("PATCH", "/api/v1/tenants/{id}", P("tenants:update:all")),
    r("POST", "/api/v1/tenants/{id}/suspend", P("tenants:suspend:all")),
    r("POST", "/api/v1/tenants/{id}/reactivate", P("tenants:update:all")),
    // Users of the acting tenant.
    r("POST", "/api/v1/users/invitations", P("users:create")),
    r("GET", "/api/v1/users", P("users:read:own")),
    r("GET", "/api/v1/users/{id}", P("users:read:own")),
    r("PATCH", "/api/v1/users/{id}", P("users:update")),
    r("PUT", "/api/v1/users/{id}/roles", P("users:assign")),
    r("POST", "/api/v1/users/{id}/deactivate", P("users:deactivate")),
    r("GET", "/api/v1/audit-log", P("audit:read")),
    // The acting tenant's settings.
    r("GET", "/api/v1/settings", P("settings:read")),
    r("PUT", "/api/v1/settings/{key}", P("settings:update")),
    // API keys of the acting tenant (people only; keys cannot manage keys).
    r("POST", "/api/v1/api-keys", P("api_keys:create")),
    r("GET", "/api/v1/api-keys", P("api_keys:read")),
    r("POST", "/api/v1/api-keys/{id}/rotate", P("api_keys:update")),
    r("DELETE", "/api/v1/api-keys/{id}", P("api_keys:delete")),
    // Catalog: platform categories and products (vendors own theirs; the platform reviews), each
    // tenant's catalog, SKU mappings, price lists and promotions.
    r("GET", "/api/v1/catalog/categories", P("catalog:read")),
    r("POST", "/api/v1/catalog/categories", P("catalog:create:all")),
    r("PATCH", "/api/v1/catalog/categories/{id}", P("catalog:update:all")),
    r("GET", "/api/v1/catalog/products", P("catalog:read")),
    r("POST", "/api/v1/catalog/products", P("catalog:create:own")),
    r("GET", "/api/v1/catalog/products/{id}", P("catalog:read")),
    r("PATCH", "/api/v1/catalog/products/{id}", P("catalog:update:own")),
    r("POST", "/api/v1/catalog/products/{id}/review", P("catalog:approve:all")),
    r("GET", "/api/v1/catalog/items", P("catalog:read")),
    r("POST", "/api/v1/catalog/items", P("catalog:create")),
    r("GET", "/api/v1/catalog/items/{id}", P("catalog:read")),
    r("PATCH", "/api/v1/catalog/items/{id}", P("catalog:update")),
    r("DELETE", "/api/v1/catalog/items/{id}", P("catalog:delete")),
    r("GET", "/api/v1/mappings/skus", P("sku_mappings:read")),
    r("POST", "/api/v1/mappings/skus", P("sku_mappings:create")),
    r("GET", "/api/v1/mappings/skus/{id}", P("sku_mappings:read")),
    r("PATCH", "/api/v1/mappings/skus/{id}", P("sku_mappings:update")),
    r("DELETE", "/api/v1/mappings/skus/{id}", P("sku_mappings:delete")),
    r("POST", "/api/v1/mappings/skus/resolve", P("sku_mappings:read")),
    r("POST", "/api/v1/mappings/skus/bulk", P("sku_mappings:create")),
    r("GET", "/api/v1/mappings/skus/export", P("sku_mappings:read")),
    r("GET", "/api/v1/mappings/skus/suggestions", P("sku_mappings:read")),
    r("GET", "/api/v1/pricing/price-lists", P("pricing:read")),
    r("POST", "/api/v1/pricing/price-lists", P("pricing:create")),
    r("GET", "/api/v1/pricing/price-lists/{id}", P("pricing:read")),
    r("PATCH", "/api/v1/pricing/price-lists/{id}", P("pricing:update")),
    r("PUT", "/api/v1/pricing/price-lists/{id}/prices/{sku}", P("pricing:update")),
    r("DELETE", "/api/v1/pricing/price-lists/{id}/prices/{sku}", P("pricing:update")),
    r("POST", "/api/v1/pricing/quote", P("pricing:read")),
    r("GET", "/api/v1/promotions", P("promotions:read")),
    r("POST", "/api/v1/promotions", P("promotions:create")),
    r("GET", "/api/v1/promotions/{id}", P("promotions:read")),
    r("PATCH", "/api/v1/promotions/{id}", P("promotions:update")),
    r("POST", "/api/v1/promotions/validate", P("pricing:read")),
    r("POST", "/api/v1/promotions/redemptions", P("promotions:redeem")),
    r("GET", "/api/v1/promotions/{id}/redemptions", P("promotions:read")),
    // Field-mapping profiles of custom channels.
    r("POST", "/api/v1/channels/{id}/profiles", P("channels:update")),
    r("POST", "/api/v1/channels/{id}/profiles/preview", P("channels:read")),
    // Orders: intake, the order APIs, approvals, exceptions, channels and their webhooks (public:
    // the channel's signature authenticates them).
    r("POST", "/api/v1/orders", P("orders:create:own")),
    r("POST", "/api/v1/orders/validate", P("orders:create:own")),
    r("GET", "/api/v1/orders", P("orders:read:own")),
    r("GET", "/api/v1/orders/{id}", P("orders:read:own")),
    r("PATCH", "/api/v1/orders/{id}", P("orders:update:own")),
    r("POST", "/api/v1/orders/{id}/revalidate", P("orders:update")),
    r("POST", "/api/v1/approvals", P("orders:update")),
    r("GET", "/api/v1/approvals", P("orders:read")),
    r("GET", "/api/v1/admin/exceptions", P("orders:read")),
    r("POST", "/api/v1/admin/exceptions/{id}/resolve", P("orders:update")),
    r("POST", "/api/v1/channels", P("channels:create")),
    r("GET", "/api/v1/channels", P("channels:read")),
    r("POST", "/api/v1/webhooks/shopify/{id}", Public),
    r("POST", "/api/v1/webhooks/woocommerce/{id}", Public),
];

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
    use crate::tenancy::roles::ROLES;

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
                let own = wanted.with_scope(crate::tenancy::roles::Scope::Own);
                assert!(!role.grants(&own), "{} may {} {}", role.code, route.method, route.path);
            }
        }
    }
}
