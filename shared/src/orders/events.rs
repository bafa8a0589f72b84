//! The order events (ARCHITECTURE.md §4): the state an order enters names the event
//! ([`OrderStatus::event`]); every one carries the same data, what the next step needs to find the
//! order.

use serde::{Deserialize, Serialize};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::model::{OrderEventType, OrderStatus};
use crate::platform::clock::Clock;
use crate::platform::events::{self, Envelope, EventError};
use crate::platform::tenant::TenantId;

/// The schema version of every order event's data.
pub const VERSION: u32 = 1;

/// The data of every order event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub order_id: Uuid,
    pub number: i64,
    pub status: OrderStatus,
    pub source: String,
    pub currency: String,
    pub total: i64,
    pub payment_source: String,
    /// The kinds of the order's open exceptions (why it is held).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<String>,
}

/// Writes the event to the outbox inside `tx`; returns the envelope to publish after commit.
pub async fn record(
    tx: &Transaction<'_>,
    tenant: TenantId,
    clock: &dyn Clock,
    kind: OrderEventType,
    data: &OrderEvent,
) -> Result<Envelope, EventError> {
    events::record_typed(tx, Some(tenant), clock, kind.as_str(), VERSION, data).await
}
