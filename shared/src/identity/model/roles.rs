//! Roles and permissions: 18 roles, each a set of `resource:action[:scope]` permissions.
//!
//! A permission is granted when a role holds one whose resource matches (`*` is any), whose action
//! matches (`*` is any), and whose scope is at least as wide as the one asked for
//! (`own` < `tenant` < `all`; no scope means `tenant`). Scope `all` is the cross-tenant permission
//! that lets a principal act for another tenant. Read-only roles hold only `read` actions.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How far a permission reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Objects the principal created or is assigned to.
    Own,
    /// Everything in the principal's tenant.
    Tenant,
    /// Every tenant (cross-tenant; platform staff).
    All,
}

/// `resource:action[:scope]`, e.g. `orders:read:own`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    resource: String,
    action: String,
    scope: Scope,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a permission (resource:action[:scope]): {0:?}")]
pub struct BadPermission(pub String);

fn word(s: &str) -> bool {
    s == "*" || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
}

impl FromStr for Permission {
    type Err = BadPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPermission(s.to_owned());
        let mut parts = s.split(':');
        let resource = parts.next().filter(|p| word(p)).ok_or_else(bad)?;
        let action = parts.next().filter(|p| word(p)).ok_or_else(bad)?;
        let scope = match parts.next() {
            None => Scope::Tenant,
            Some("own") => Scope::Own,
            Some("tenant") => Scope::Tenant,
            Some("all") => Scope::All,
            Some(_) => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self { resource: resource.to_owned(), action: action.to_owned(), scope })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match self.scope {
            Scope::Own => "own",
            Scope::Tenant => "tenant",
            Scope::All => "all",
        };
        write!(f, "{}:{}:{scope}", self.resource, self.action)
    }
}

impl Permission {
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The same resource and action at another scope.
    pub fn with_scope(&self, scope: Scope) -> Permission {
        Self { scope, ..self.clone() }
    }

    pub fn is_read(&self) -> bool {
        self.action == "read"
    }

    /// Whether holding `self` grants `wanted`.
    pub fn grants(&self, wanted: &Permission) -> bool {
        (self.resource == "*" || self.resource == wanted.resource)
            && (self.action == "*" || self.action == wanted.action)
            && self.scope >= wanted.scope
    }
}

/// One role: its code, what it is for, and its permissions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Role {
    pub code: &'static str,
    pub description: &'static str,
    /// True when the role never changes anything.
    pub read_only: bool,
    pub permissions: &'static [&'static str],
}

macro_rules! role {
    ($code:literal, $ro:literal, $desc:literal, [$($p:literal),* $(,)?]) => {
        Role { code: $code, description: $desc, read_only: $ro, permissions: &[$($p),*] }
    };
}

/// The 18 roles. The first 11 are the platform's; the other 7 serve the marketplace, tenant finance,
/// logistics partners, machine clients, compliance and catalog work.
pub static ROLES: &[Role] = &[
    role!("SUPER_ADMIN", false, "Everything, everywhere; break-glass platform owner.", ["*:*:all"]),
    role!(
        "PLATFORM_ADMIN",
        false,
        "Runs the platform: tenants, users, catalog approval, settings, for any tenant.",
        [
            "tenants:*:all",
            "users:*:all",
            "roles:read:all",
            "catalog:*:all",
            "vendors:*:all",
            "settings:*:all",
            "api_keys:*:all",
            "webhooks:*:all",
            "orders:read:all",
            "audit:read:all",
        ]
    ),
    role!(
        "OPERATIONS_ADMIN",
        false,
        "Order flow across tenants: orders, stock, warehouses, fulfilment, returns.",
        [
            "orders:*:all",
            "inventory:*:all",
            "warehouses:*:all",
            "fulfillment:*:all",
            "returns:*:all",
            "tenants:read:all",
            "catalog:read:all",
            "exceptions:*:all",
        ]
    ),
    role!(
        "FINANCE_ADMIN",
        false,
        "Money across tenants: payments, refunds, commissions, payouts, NACHA files.",
        [
            "payments:*:all",
            "refunds:*:all",
            "commissions:*:all",
            "payouts:*:all",
            "finance:*:all",
            "orders:read:all",
            "tenants:read:all",
            "inventory:read:all",
            "warehouses:read:all",
        ]
    ),
    role!(
        "FINANCE",
        true,
        "Read-only financial view across tenants.",
        [
            "payments:read:all",
            "refunds:read:all",
            "commissions:read:all",
            "payouts:read:all",
            "finance:read:all",
            "orders:read:all",
            "inventory:read:all",
            "warehouses:read:all",
        ]
    ),
    role!("AUDITOR", true, "Read-only, system-wide, including the audit log.", ["*:read:all"]),
    role!(
        "TENANT_ADMIN",
        false,
        "Runs one tenant: its users, catalog, pricing, orders, keys, webhooks, settings.",
        [
            "users:*",
            "roles:read",
            "catalog:*",
            "sku_mappings:*",
            "pricing:*",
            "promotions:*",
            "orders:*",
            "returns:*",
            "inventory:*",
            "fulfillment:*",
            "warehouses:read",
            "payments:read",
            "refunds:read",
            "gdpr:*",
            "api_keys:*",
            "webhooks:*",
            "settings:*",
            "channels:*",
            "audit:read",
            "finance:read",
            "commissions:read",
            "payouts:read",
        ]
    ),
    role!(
        "TENANT_USER",
        false,
        "Day-to-day staff of a tenant: places and follows orders.",
        [
            "orders:create",
            "orders:read",
            "orders:update:own",
            "catalog:read",
            "pricing:read",
            "inventory:read",
            "users:read:own",
        ]
    ),
    role!(
        "WAREHOUSE_STAFF",
        false,
        "Picks, packs and ships for a tenant's warehouses.",
        [
            "orders:read",
            "inventory:read",
            "inventory:update",
            "fulfillment:*",
            "returns:update",
            "warehouses:read",
        ]
    ),
    role!(
        "SALES_REP",
        false,
        "Sells for a tenant; sees own orders and own commissions.",
        [
            "orders:create:own",
            "orders:read:own",
            "orders:update:own",
            "catalog:read",
            "pricing:read",
            "commissions:read:own",
        ]
    ),
    role!(
        "SUPPORT",
        true,
        "Read-only help desk across tenants: orders, shipments, users.",
        [
            "orders:read:all",
            "fulfillment:read:all",
            "returns:read:all",
            "users:read:all",
            "tenants:read:all",
            "catalog:read:all",
        ]
    ),
    role!(
        "VENDOR_ADMIN",
        false,
        "Runs a marketplace vendor: its products (pending approval), orders, payouts, users.",
        [
            "catalog:create:own",
            "catalog:update:own",
            "catalog:read",
            "orders:read:own",
            "fulfillment:*:own",
            "payouts:read:own",
            "users:*",
        ]
    ),
    role!(
        "VENDOR_USER",
        false,
        "Vendor staff: keeps products and fulfils the vendor's orders.",
        ["catalog:read", "catalog:update:own", "orders:read:own", "fulfillment:update:own",]
    ),
    role!(
        "TENANT_FINANCE",
        true,
        "Read-only money view of one tenant: invoices, commissions, payouts.",
        ["finance:read", "payments:read", "refunds:read", "commissions:read", "payouts:read", "orders:read",]
    ),
    role!(
        "THREE_PL_PARTNER",
        false,
        "A third-party logistics partner: the orders routed to it, labels, tracking.",
        [
            "fulfillment:read:own",
            "fulfillment:update:own",
            "orders:read:own",
            "inventory:read:own",
            "inventory:update:own",
        ]
    ),
    role!(
        "INTEGRATION_CLIENT",
        false,
        "A machine client (API key) of one tenant: submits and follows orders.",
        ["orders:create", "orders:read", "catalog:read", "pricing:read", "inventory:read",]
    ),
    role!(
        "COMPLIANCE_OFFICER",
        false,
        "A tenant's data protection: audit trail, GDPR export and erasure.",
        ["audit:read", "users:read", "gdpr:export", "gdpr:erase",]
    ),
    role!(
        "CATALOG_MANAGER",
        false,
        "Keeps a tenant's catalog, SKU mappings, prices and promotions.",
        ["catalog:*", "sku_mappings:*", "pricing:*", "promotions:*", "orders:read",]
    ),
];

pub fn role(code: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.code == code)
}

impl Role {
    /// The parsed permissions (every entry of [`ROLES`] parses; a test holds it so).
    pub fn parsed(&self) -> impl Iterator<Item = Permission> + '_ {
        self.permissions.iter().filter_map(|p| p.parse().ok())
    }

    pub fn grants(&self, wanted: &Permission) -> bool {
        self.parsed().any(|p| p.grants(wanted))
    }
}

/// Whether any of `roles` grants `wanted`. Unknown role codes grant nothing.
pub fn granted(roles: &[String], wanted: &Permission) -> bool {
    roles.iter().filter_map(|r| role(r)).any(|r| r.grants(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Permission {
        s.parse().unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn there_are_eighteen_roles_with_unique_codes_and_valid_permissions() {
        assert_eq!(ROLES.len(), 18);
        let mut codes: Vec<_> = ROLES.iter().map(|r| r.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 18);
        for r in ROLES {
            assert!(!r.permissions.is_empty(), "{}", r.code);
            for perm in r.permissions {
                assert!(perm.parse::<Permission>().is_ok(), "{}: {perm}", r.code);
            }
        }
    }

    #[test]
    fn read_only_roles_hold_only_read_permissions() {
        for r in ROLES.iter().filter(|r| r.read_only) {
            for perm in r.parsed() {
                assert!(perm.is_read(), "{} may {perm}", r.code);
            }
            for action in ["create", "update", "delete", "erase", "approve"] {
                assert!(!r.grants(&p(&format!("orders:{action}:own"))), "{} may {action}", r.code);
            }
        }
        let read_only: Vec<_> = ROLES.iter().filter(|r| r.read_only).map(|r| r.code).collect();
        assert_eq!(read_only, vec!["FINANCE", "AUDITOR", "SUPPORT", "TENANT_FINANCE"]);
    }

    #[test]
    fn scopes_widen_own_to_tenant_to_all() {
        let rep = role("SALES_REP").map(|r| (r.grants(&p("orders:read:own")), r.grants(&p("orders:read"))));
        assert_eq!(rep, Some((true, false)));
        let admin = role("TENANT_ADMIN")
            .map(|r| (r.grants(&p("orders:update:own")), r.grants(&p("orders:update:all"))));
        assert_eq!(admin, Some((true, false)), "a tenant admin never reaches across tenants");
        assert!(granted(&["AUDITOR".into()], &p("payouts:read:all")));
        assert!(!granted(&["AUDITOR".into()], &p("payouts:create")));
        assert!(granted(&["SUPER_ADMIN".into()], &p("tenants:suspend:all")));
        assert!(!granted(&["NOT_A_ROLE".into()], &p("orders:read:own")));
    }

    #[test]
    fn malformed_permissions_are_refused() {
        for bad in
            ["", "orders", "orders:", "Orders:read", "orders:read:everyone", "a:b:own:x", "or ders:read"]
        {
            assert!(bad.parse::<Permission>().is_err(), "{bad}");
        }
        assert_eq!(p("orders:read").to_string(), "orders:read:tenant");
    }
}
