//! The catalog context: what is sold, by whom, under which SKU, at what price. Platform products
//! and categories ([`products`]), each tenant's private-label catalog ([`items`]), the SKU
//! resolution engine ([`mappings`]), price lists and quotes ([`pricing`]), and promotions
//! ([`promotions`]).

pub mod items;
pub mod mappings;
pub mod pricing;
pub mod products;
pub mod promotions;

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::platform::error::{ApiError, FieldError};
pub use crate::platform::validate::MAX_UNIT_PRICE;

/// The product the acting tenant may sell under this platform SKU (approved), as (id, SKU).
pub async fn sellable(tx: &Transaction<'_>, platform_sku: &str) -> Result<Option<(Uuid, String)>, ApiError> {
    Ok(tx
        .query_opt(
            "SELECT id, sku FROM products WHERE lower(sku) = lower($1) AND review_status = 'approved'",
            &[&platform_sku.trim()],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// [`sellable`], or a 422 on `field` saying the SKU names nothing the tenant can sell.
pub async fn require_sellable(
    tx: &Transaction<'_>,
    platform_sku: &str,
    field: &str,
) -> Result<(Uuid, String), ApiError> {
    sellable(tx, platform_sku).await?.ok_or_else(|| {
        ApiError::Validation(vec![FieldError::new(
            field,
            "unknown_product",
            format!("no platform product {:?} is available to this tenant", platform_sku.trim()),
        )])
    })
}
