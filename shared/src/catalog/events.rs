//! The events the catalog publishes: `sku_mapping.created` (new mappings, or a catalog item's
//! tenant SKU: identifiers that now resolve) and `sku_mapping.updated` (mappings that now point at
//! another product). Intake releases the orders it held for them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::platform::events::DomainEvent;

/// Mappings per `sku_mapping.*` event (events stay far below EventBridge's 256 KB).
pub const MAPPINGS_PER_EVENT: usize = 100;

/// The data of `sku_mapping.created` and `sku_mapping.updated`: the mappings concerned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MappingsChanged {
    pub mappings: Vec<MappingRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingRef {
    pub id: Uuid,
    pub kind: String,
    pub channel: Option<String>,
    pub identifier: String,
    pub variant_id: Option<String>,
    pub product_id: Uuid,
}

/// New mappings (or a catalog item's tenant SKU): identifiers that now resolve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkuMappingCreated(pub MappingsChanged);
impl DomainEvent for SkuMappingCreated {
    const TYPE: &'static str = "sku_mapping.created";
    const VERSION: u32 = 1;
}

/// Mappings that now point at another product.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkuMappingUpdated(pub MappingsChanged);
impl DomainEvent for SkuMappingUpdated {
    const TYPE: &'static str = "sku_mapping.updated";
    const VERSION: u32 = 1;
}
