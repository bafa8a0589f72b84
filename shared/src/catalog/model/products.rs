//! Platform categories and products. The platform tenant owns the catalog and its categories;
//! marketplace vendors submit their own products, which every other tenant sees only once the
//! platform approved them (row-level security decides, a trigger keeps review decisions to the
//! platform). A product's platform SKU never changes: mappings, prices and orders name it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Error;
use crate::platform::error::FieldError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn check_slug(slug: &str, errors: &mut Vec<FieldError>) {
    let ok = (1..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !ok {
        errors.push(FieldError::new("slug", "invalid", "1-63 of a-z, 0-9 and '-', not starting with '-'"));
    }
}

/// Categories, products and reviews of the platform are written only by the platform tenant.
pub fn require_platform(tenant_kind: &str, what: &str) -> Result<(), Error> {
    if tenant_kind == "platform" {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("{what} belong to the platform: act as the platform tenant")))
    }
}

/// Only the platform and marketplace vendors own products.
pub fn require_owner_kind(tenant_kind: &str) -> Result<(), Error> {
    if tenant_kind == "platform" || tenant_kind == "vendor" {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the platform and marketplace vendors own products; add platform products to your catalog instead"
                .into(),
        ))
    }
}

/// Where a new parent puts a category: `None` (no such parent), `Some(true)` (under itself or a
/// descendant), `Some(false)` (fine).
pub fn check_parent(cycle: Option<bool>) -> Result<(), Error> {
    match cycle {
        None => Err(Error::field("parent_id", "unknown", "no such category")),
        Some(true) => Err(Error::field("parent_id", "cycle", "a category cannot sit under itself")),
        Some(false) => Ok(()),
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    pub length: i32,
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    pub id: Uuid,
    /// The platform SKU every mapping resolves to. Never changes.
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category_id: Option<Uuid>,
    pub weight_grams: i32,
    /// Length, width and height in millimetres (for shipping).
    pub dimensions_mm: Dimensions,
    pub active: bool,
    /// Orderable only for a customer with a registered, unexpired approval.
    pub approval_gated: bool,
    /// `platform` (the platform's own) or `vendor` (a marketplace vendor's).
    pub source: String,
    /// The owning tenant: shown to the owner and to the platform only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_tenant_id: Option<Uuid>,
    /// `pending`, `approved` or `rejected`; only approved products are visible to other tenants.
    pub review_status: String,
    pub review_reason: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A product's writable fields (create, and update after merging).
#[derive(Debug, Clone)]
pub struct ProductFields {
    pub name: String,
    pub description: String,
    pub category_id: Option<Uuid>,
    pub weight_grams: i32,
    pub dimensions_mm: Dimensions,
    pub active: bool,
    pub approval_gated: bool,
}

/// Whether `sku` is a well-formed platform SKU (letters, digits, `.`, `_`, `-`; up to 64; no `/`:
/// it appears in paths).
pub fn valid_platform_sku(sku: &str) -> bool {
    let b = sku.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

pub fn check_physical(weight: Option<i32>, dims: Option<Dimensions>, errors: &mut Vec<FieldError>) {
    if weight.is_some_and(|w| !(1..=1_000_000).contains(&w)) {
        errors.push(FieldError::new("weight_grams", "out_of_range", "1 to 1000000 grams"));
    }
    if let Some(d) = dims {
        for (name, v) in [("length", d.length), ("width", d.width), ("height", d.height)] {
            if !(1..=10_000).contains(&v) {
                errors.push(FieldError::new(
                    format!("dimensions_mm.{name}"),
                    "out_of_range",
                    "1 to 10000 mm",
                ));
            }
        }
    }
}

/// A review decision: the status it sets and the audit action it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: &'static str,
    pub action: &'static str,
    pub reason: Option<String>,
}

impl Decision {
    /// `approve`, or `reject` with a reason (at most 1000 characters).
    pub fn parse(decision: &str, reason: Option<&str>) -> Result<Self, Error> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
        let (status, action) = match decision {
            "approve" => ("approved", "product.approved"),
            "reject" if reason.is_some() => ("rejected", "product.rejected"),
            "reject" => return Err(Error::field("reason", "required", "say why the product is rejected")),
            _ => return Err(Error::field("decision", "invalid", "approve or reject")),
        };
        if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
            return Err(Error::field("reason", "too_long", "at most 1000 characters"));
        }
        Ok(Self { status, action, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_needs_a_reason() {
        assert!(
            matches!(Decision::parse("reject", Some("  ")), Err(Error::Invalid(e)) if e[0].field == "reason")
        );
        assert_eq!(Decision::parse("approve", None).map(|d| d.status).ok(), Some("approved"));
        assert!(matches!(Decision::parse("maybe", None), Err(Error::Invalid(e)) if e[0].field == "decision"));
    }

    #[test]
    fn platform_skus_never_hold_a_slash() {
        assert!(valid_platform_sku("AB-1.x_2"));
        assert!(!valid_platform_sku("a/b"));
        assert!(!valid_platform_sku("-a"));
        assert!(!valid_platform_sku(""));
    }
}

/// The changes a product update asks for (each checked; `None` keeps the field).
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` removes the category.
    pub category_id: Option<Option<Uuid>>,
    pub weight_grams: Option<i32>,
    pub dimensions_mm: Option<Dimensions>,
    pub active: Option<bool>,
    pub approval_gated: Option<bool>,
}

impl ProductChanges {
    /// The product's fields with these changes applied.
    pub fn applied_to(self, before: &Product) -> ProductFields {
        ProductFields {
            name: self.name.unwrap_or_else(|| before.name.clone()),
            description: self.description.unwrap_or_else(|| before.description.clone()),
            category_id: self.category_id.unwrap_or(before.category_id),
            weight_grams: self.weight_grams.unwrap_or(before.weight_grams),
            dimensions_mm: self.dimensions_mm.unwrap_or(before.dimensions_mm),
            active: self.active.unwrap_or(before.active),
            approval_gated: self.approval_gated.unwrap_or(before.approval_gated),
        }
    }

    /// Only the platform changes whether a product needs a customer approval.
    pub fn check_gate(&self, before: &Product, platform: bool) -> Result<(), Error> {
        if !platform && self.approval_gated.is_some_and(|g| g != before.approval_gated) {
            return Err(Error::Forbidden(
                "only the platform sets whether a product needs a customer approval".into(),
            ));
        }
        Ok(())
    }
}

/// A vendor's edit of a rejected product resubmits it for review.
pub fn resubmits(before: &Product, platform: bool) -> bool {
    before.review_status == "rejected" && !platform
}
