//! The events the inventory context publishes (the order events of its steps are the orders
//! context's).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `inventory.low_stock`: a level fell to its reorder point (once per dip). Tenant: the owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LowStock {
    pub warehouse_id: Uuid,
    pub platform_sku: String,
    pub available: i64,
    pub on_hand: i64,
}

impl crate::platform::events::DomainEvent for LowStock {
    const TYPE: &'static str = "inventory.low_stock";
    const VERSION: u32 = 1;
}

/// `inventory.backordered`: an order waits for units no warehouse has. Tenant: the order's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockBackordered {
    pub order_id: Uuid,
    pub number: i64,
    /// (platform SKU, units) short.
    pub short: Vec<(String, i64)>,
}

impl crate::platform::events::DomainEvent for StockBackordered {
    const TYPE: &'static str = "inventory.backordered";
    const VERSION: u32 = 1;
}
