//! The inventory services: the reservation step (`reserve`), stock moving in and out and the
//! backorders it fills (`stock`), and what people read (`views`).
//!
//! Lock order, everywhere: the order rows first (by id), then the levels (by SKU, then
//! warehouse). Every path that changes a level takes its locks in that order, so no two of them
//! wait on each other in a circle.

mod reserve;
mod stock;
mod views;

pub use reserve::{Reservation, reserve_order};
pub use stock::{
    adjust, commit_order, fill_backorders, fill_order, ledger_mismatches, receive, record_history,
    release_order, ship_order,
};
pub use views::{
    alerts, availability, create_warehouse, forecast, levels, movements, order_stock, update_warehouse,
    warehouses,
};

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::inventory::events::{LowStock, StockBackordered};
use crate::inventory::model::{Error, Level};
use crate::platform::events::{self, Envelope};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// The events a stock change raises — the low-stock and backorder alerts (each an event and an
/// email to the tenant's operations contacts) — recorded in its transaction, published after.
pub(crate) struct Alerting<'a> {
    state: &'a AppState,
    pub events: Vec<Envelope>,
}

impl<'a> Alerting<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Self { state, events: Vec::new() }
    }

    /// After a level changed: when it has just become low, the owner is told.
    pub async fn applied(
        &mut self,
        tx: &Transaction<'_>,
        (level, became_low): (Level, Option<Uuid>),
    ) -> Result<Level, Error> {
        let Some(owner) = became_low else { return Ok(level) };
        let owner = TenantId::from_uuid(owner);
        let clock = self.state.clock();
        let data = LowStock {
            warehouse_id: level.warehouse_id,
            platform_sku: level.platform_sku.clone(),
            available: level.available,
            on_hand: level.on_hand,
        };
        self.events.push(events::record(tx, Some(owner), clock.as_ref(), &data).await?);
        let subject = format!("Low stock: {} ({} available)", level.platform_sku, level.available);
        let text = format!(
            "{} has {} units available at warehouse {} ({} on hand). See GET /api/v1/inventory/alerts and the forecast.\n",
            level.platform_sku, level.available, level.warehouse_id, level.on_hand
        );
        self.events
            .extend(crate::identity::notify_operations(tx, clock.as_ref(), owner, &subject, &text).await?);
        Ok(level)
    }

    /// An order's units backordered: its tenant is told.
    pub async fn backordered(
        &mut self,
        tx: &Transaction<'_>,
        tenant: TenantId,
        order_id: Uuid,
        number: i64,
        short: &[(String, i64)],
    ) -> Result<(), Error> {
        let clock = self.state.clock();
        let data = StockBackordered { order_id, number, short: short.to_vec() };
        self.events.push(events::record(tx, Some(tenant), clock.as_ref(), &data).await?);
        let subject = format!("Order {number} is backordered");
        let text = format!(
            "Order {number} waits for stock: {}. It is reserved by itself when stock arrives.\n",
            reserve::describe(short)
        );
        self.events
            .extend(crate::identity::notify_operations(tx, clock.as_ref(), tenant, &subject, &text).await?);
        Ok(())
    }

    /// Publishes what was recorded (after commit); the relay publishes whatever this misses.
    pub async fn publish(self) {
        if self.events.is_empty() {
            return;
        }
        if let Err(e) = events::publish_committed(self.state, &self.events).await {
            tracing::warn!(error = %e, "inventory events left to the relay");
        }
    }
}
