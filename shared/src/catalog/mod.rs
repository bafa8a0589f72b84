//! The catalog context: what is sold, by whom, under which SKU, at what price. Platform products
//! and categories, each tenant's private-label catalog (items), the SKU resolution engine
//! (mappings), price lists and quotes (pricing), and promotions.
//!
//! A mapping is a tenant SKU (`sku`), a further private-label name (`alias`), or a channel's own
//! product id, optionally with a variant id (`channel_product`, for channels such as WooCommerce
//! that may send `sku: ""`); optionally only for one channel. Identifiers match without regard to
//! case. [`resolve`] tries, best first: the channel product id with its variant, without it; the
//! SKU mapped for that channel, for any channel; the tenant SKU in the tenant's catalog; the
//! platform SKU itself when the tenant's catalog sells it. Unknown identifiers are reported per
//! item, never as an error for a whole batch. Creating mappings emits `sku_mapping.created`
//! (intake releases the orders it held for them).
//!
//! Other contexts call only what this file exports.

pub mod api;
mod events;
mod model;
mod service;
mod store;

use std::collections::HashMap;

use tokio_postgres::Transaction;
use uuid::Uuid;

pub use events::{MappingRef, MappingsChanged, SkuMappingCreated, SkuMappingUpdated};
pub use model::{
    BULK_BODY_LIMIT, Cart, CartLine, Error, LinePrice, Lookup, MAX_CODES, MAX_LINES, MAX_QUANTITY, NoPrice,
    Outcome, Redemption, Resolution, customer_key, id_like,
};
pub use service::mappings::resolve;
pub use service::pricing::price;
pub use service::promotions::{evaluate, redeem_applied, release_redemptions};
pub use service::require_sellable;

pub use crate::platform::validate::MAX_UNIT_PRICE;

/// Whether a product is orderable only for a customer with a registered approval (`None`: no such
/// product visible to the transaction's tenant).
pub async fn approval_gated(tx: &Transaction<'_>, product: Uuid) -> Result<Option<bool>, Error> {
    store::products::approval_gated(tx, product).await
}

/// The platform SKU of each product the transaction can see: product id → SKU.
/// The id of the product with platform SKU `sku` (any case, any review status).
pub async fn product_by_sku(tx: &Transaction<'_>, sku: &str) -> Result<Option<Uuid>, Error> {
    store::products::id_by_sku(tx, sku).await
}

pub async fn product_skus(tx: &Transaction<'_>, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, Error> {
    store::products::skus(tx, ids).await
}
