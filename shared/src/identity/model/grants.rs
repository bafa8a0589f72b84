//! Who may grant which role. A principal may grant a role when they hold every permission of it
//! (at its scope), or when they are a platform principal (`users:assign:all`) granting a
//! tenant-level role (one without `:all` permissions). Roles with `:all` permissions (platform
//! staff) exist only in the platform tenant. Managing a member needs the right to grant every role
//! they hold, so a vendor admin cannot touch a tenant admin.

use super::Error;
use crate::identity::Principal;
use crate::identity::roles::{Scope, role};
use crate::platform::error::FieldError;

/// Whether a role reaches across tenants (holds an `:all` permission): platform staff.
pub fn is_platform_role(code: &str) -> bool {
    role(code).is_some_and(|r| r.parsed().any(|perm| perm.scope() == Scope::All))
}

/// Whether `p` may grant (or take away) `code`.
pub fn may_assign(p: &Principal, code: &str) -> bool {
    let Some(r) = role(code) else { return false };
    let subset = r.parsed().all(|perm| p.holds(&perm));
    let platform = p.may("users:assign:all");
    subset || (platform && !is_platform_role(code))
}

/// Whether `p` may make `code` the role single sign-on provisions members with: a tenant-level
/// role they may grant.
pub fn may_provision_with(p: &Principal, code: &str) -> bool {
    role(code).is_some() && !is_platform_role(code) && may_assign(p, code)
}

/// Refuses to manage a member holding a role `p` could not grant.
pub fn check_outranks(p: &Principal, held: &[String]) -> Result<(), Error> {
    match held.iter().find(|r| !may_assign(p, r)) {
        Some(r) => Err(Error::Forbidden(format!("you cannot manage a user who holds {r}"))),
        None => Ok(()),
    }
}

/// Refuses a set of roles to grant in a tenant of `tenant_kind` (field errors under `field`).
pub fn check_roles(p: &Principal, roles: &[String], field: &str, tenant_kind: &str) -> Result<(), Error> {
    let mut errors = Vec::new();
    if roles.is_empty() {
        errors.push(FieldError::new(field, "required", "at least one role"));
    }
    for (i, code) in roles.iter().enumerate() {
        if role(code).is_none() {
            errors.push(FieldError::new(format!("{field}[{i}]"), "unknown_role", format!("no role {code}")));
        } else if is_platform_role(code) && tenant_kind != "platform" {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "platform_role",
                format!("{code} is platform staff: it exists only in the platform tenant"),
            ));
        } else if !may_assign(p, code) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "not_assignable",
                format!("you cannot grant {code}"),
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_roles_are_the_ones_reaching_across_tenants() {
        let platform: Vec<_> =
            crate::identity::roles::ROLES.iter().map(|r| r.code).filter(|c| is_platform_role(c)).collect();
        assert_eq!(
            platform,
            [
                "SUPER_ADMIN",
                "PLATFORM_ADMIN",
                "OPERATIONS_ADMIN",
                "FINANCE_ADMIN",
                "FINANCE",
                "AUDITOR",
                "SUPPORT"
            ]
        );
        assert!(!is_platform_role("TENANT_ADMIN"));
        assert!(!is_platform_role("NOT_A_ROLE"));
    }
}
