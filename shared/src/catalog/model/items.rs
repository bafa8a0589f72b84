//! A tenant's catalog items: which platform products it sells, under which private-label name and
//! tenant SKU, and whether its storefronts show them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::events::MappingRef;
use crate::platform::error::FieldError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogItem {
    pub id: Uuid,
    pub product_id: Uuid,
    pub platform_sku: String,
    /// The platform's name for the product.
    pub product_name: String,
    /// The tenant's own SKU for it.
    pub tenant_sku: String,
    /// The tenant's (private-label) name.
    pub name: String,
    pub description: String,
    /// `visible` or `hidden` (in the tenant's storefronts).
    pub visibility: String,
    /// False when the platform deactivated the product.
    pub product_active: bool,
    pub approval_gated: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CatalogItem {
    /// The item's tenant SKU as a mapping event names it (it resolves to the item's product).
    pub fn resolves(&self) -> MappingRef {
        MappingRef {
            id: self.id,
            kind: "tenant_sku".into(),
            channel: None,
            identifier: self.tenant_sku.clone(),
            variant_id: None,
            product_id: self.product_id,
        }
    }
}

/// An item's fields as written: `None` keeps (update) or defaults (create) each.
#[derive(Debug, Clone, Default)]
pub struct ItemFields {
    pub tenant_sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<String>,
}

pub fn check_visibility(v: Option<&str>, errors: &mut Vec<FieldError>) {
    if v.is_some_and(|v| v != "visible" && v != "hidden") {
        errors.push(FieldError::new("visibility", "invalid", "visible or hidden"));
    }
}
