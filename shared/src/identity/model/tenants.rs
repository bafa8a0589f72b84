//! Tenants as platform staff manage them: the kinds, the tenant as answered, and the checks of
//! its fields and of a status change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Error;
use crate::platform::error::FieldError;

pub const KINDS: &[&str] = &["clinic", "partner_brand", "reseller", "vendor", "platform"];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// clinic, partner_brand, reseller, vendor or platform.
    pub kind: String,
    /// active, suspended or closed.
    pub status: String,
    /// Minutes of inactivity after which a session ends.
    pub idle_timeout_minutes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which tenants to list (each part optional); `like` is a pattern for the name or the slug.
pub struct TenantQuery<'a> {
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub like: Option<String>,
}

/// The fields of a new tenant or a change, as far as given.
#[derive(Debug, Default, Clone, Copy)]
pub struct TenantFields<'a> {
    pub slug: Option<&'a str>,
    pub name: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub idle_timeout_minutes: Option<i64>,
}

fn slug_ok(slug: &str) -> bool {
    (2..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

impl TenantFields<'_> {
    /// Refuses invalid fields (all of them at once).
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        if self.slug.is_some_and(|s| !slug_ok(s)) {
            errors.push(FieldError::new(
                "slug",
                "invalid",
                "2-63 of a-z, 0-9 and '-', not starting with '-'",
            ));
        }
        if self.name.is_some_and(|n| n.trim().is_empty() || n.chars().count() > 200) {
            errors.push(FieldError::new("name", "invalid", "1 to 200 characters"));
        }
        if self.kind.is_some_and(|k| !KINDS.contains(&k)) {
            errors.push(FieldError::new("kind", "invalid", format!("one of {}", KINDS.join(", "))));
        }
        if self.idle_timeout_minutes.is_some_and(|m| !(1..=1440).contains(&m)) {
            errors.push(FieldError::new("idle_timeout_minutes", "out_of_range", "1 to 1440"));
        }
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }
}

/// Refuses a status change's reason over 500 characters.
pub fn check_reason(reason: Option<&str>) -> Result<(), Error> {
    if reason.is_some_and(|r| r.chars().count() > 500) {
        return Err(Error::invalid("reason", "too_long", "at most 500 characters"));
    }
    Ok(())
}

/// Whether `before` may take `status`: the platform tenant is never suspended, and only a
/// suspended tenant is reactivated.
pub fn check_status_change(before: &Tenant, status: &str) -> Result<(), Error> {
    if before.kind == "platform" && status != "active" {
        return Err(Error::Conflict {
            code: "platform_tenant",
            detail: "the platform tenant cannot be suspended".into(),
        });
    }
    if status == "active" && before.status != "suspended" {
        return Err(Error::Conflict {
            code: "not_suspended",
            detail: format!("only a suspended tenant is reactivated; this one is {}", before.status),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(kind: &str, status: &str) -> Tenant {
        Tenant {
            id: Uuid::nil(),
            slug: "t".into(),
            name: "T".into(),
            kind: kind.into(),
            status: status.into(),
            idle_timeout_minutes: 15,
            created_at: DateTime::default(),
            updated_at: DateTime::default(),
        }
    }

    #[test]
    fn fields_are_checked_together() {
        let ok = TenantFields {
            slug: Some("acme-1"),
            name: Some("Acme"),
            kind: Some("clinic"),
            idle_timeout_minutes: Some(15),
        };
        assert!(ok.check().is_ok());
        let bad = TenantFields {
            slug: Some("-Acme"),
            name: Some(" "),
            kind: Some("bank"),
            idle_timeout_minutes: Some(0),
        };
        match bad.check() {
            Err(Error::Invalid(errors)) => assert_eq!(errors.len(), 4),
            other => panic!("expected four field errors, got {other:?}"),
        }
        assert!(TenantFields::default().check().is_ok(), "nothing given, nothing to refuse");
        assert!(check_reason(Some(&"x".repeat(501))).is_err());
        assert!(check_reason(Some("fraud")).is_ok());
    }

    #[test]
    fn the_platform_tenant_stays_active_and_only_suspended_tenants_reactivate() {
        assert!(check_status_change(&tenant("platform", "active"), "suspended").is_err());
        assert!(check_status_change(&tenant("clinic", "active"), "suspended").is_ok());
        assert!(check_status_change(&tenant("clinic", "active"), "active").is_err());
        assert!(check_status_change(&tenant("clinic", "suspended"), "active").is_ok());
    }
}
