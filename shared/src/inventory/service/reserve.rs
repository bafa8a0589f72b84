//! The reservation step: an order's demand reserved atomically, allocated across warehouses, the
//! rest backordered (or the order held when the tenant's policy rejects short stock).
//!
//! One transaction: the order row is locked first (two deliveries of its event run one after the
//! other; the second finds it moved on), then every level it touches, in one fixed order (SKU,
//! warehouse), so concurrent reservations never deadlock; every line is reserved or none is. The
//! order's move and its event (outbox) commit with the reservation: the event goes out once.

use serde::Serialize;
use uuid::Uuid;

use super::Alerting;
use crate::inventory::model::{self, Error};
use crate::inventory::store::{self, Movement};
use crate::orders::OrderStatus;
use crate::platform::db::{Db, scoped_tx};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// What the step did with an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    pub status: OrderStatus,
    /// (warehouse, SKU, units) reserved.
    pub reserved: Vec<(Uuid, String, i64)>,
    /// (SKU, units) backordered (or, under the `reject` policy, refused).
    pub short: Vec<(String, i64)>,
}

/// How short stock is handled for a tenant (`inventory.short_stock`): backorder the missing
/// units (default) or reject the order's short lines (the order is held for a person).
async fn rejects_short(tx: &tokio_postgres::Transaction<'_>, tenant: TenantId) -> Result<bool, Error> {
    let v = crate::identity::tenant_setting(tx, tenant, "inventory.short_stock").await?;
    Ok(v.as_ref().and_then(|v| v.as_str()) == Some("reject"))
}

/// Reserves an order's stock (the `inventory-reserve` step). An order not `payment_authorized`, or
/// holding reservations already, is left alone: `None`.
pub async fn reserve_order(
    state: &AppState,
    ops: &Db,
    tenant: TenantId,
    order_id: Uuid,
) -> Result<Option<Reservation>, Error> {
    let now = state.clock().now();
    let mut alerts = Alerting::new(state);
    let done = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        let order = crate::orders::stock_demand(&tx, order_id).await?;
        if order.status != OrderStatus::PaymentAuthorized || store::has_stock_records(&tx, order_id).await? {
            return Ok(None);
        }
        let demand = model::demand(&order.lines);
        let skus: Vec<String> = demand.iter().map(|(s, _)| s.clone()).collect();
        // Read before the levels are locked: the locks are held for as little as can be.
        let reject = rejects_short(&tx, tenant).await?;
        let candidates = store::lock_levels(&tx, &skus, order.destination_state.as_deref()).await?;
        let alloc = model::allocate(&demand, candidates, true);
        let short: Vec<(String, i64)> = alloc.short.iter().map(|(s, q, _)| (s.clone(), *q)).collect();
        let (to, reason) = if short.is_empty() {
            (OrderStatus::InventoryReserved, "every unit reserved".to_owned())
        } else if reject {
            (OrderStatus::OnHold, format!("short of stock: {}", describe(&short)))
        } else {
            (OrderStatus::Backordered, format!("backordered: {}", describe(&short)))
        };
        let reserved = if to == OrderStatus::OnHold { Vec::new() } else { alloc.picks.clone() };
        let actor = ("system", None);
        for (warehouse, sku, q) in &reserved {
            let id = Uuid::now_v7();
            let id = store::insert_reservation(&tx, id, tenant.as_uuid(), order_id, *warehouse, sku, *q, now)
                .await?;
            let m = Movement {
                warehouse_id: *warehouse,
                platform_sku: sku,
                reason: "reserved",
                actor,
                tenant_id: Some(tenant.as_uuid()),
                order_id: Some(order_id),
                reservation_id: Some(id),
                reserved: *q,
                ..Default::default()
            };
            alerts.applied(&tx, store::apply(&tx, &m, now).await?).await?;
        }
        if to == OrderStatus::Backordered {
            for (sku, q, warehouse) in &alloc.short {
                store::insert_backorder(&tx, tenant.as_uuid(), order_id, *warehouse, sku, *q, now).await?;
                // Counted on the level of the warehouse that will fill it (none stocks it yet: only
                // the backorder row says so).
                let Some(warehouse) = warehouse else { continue };
                let m = Movement {
                    warehouse_id: *warehouse,
                    platform_sku: sku,
                    reason: "backordered",
                    actor,
                    tenant_id: Some(tenant.as_uuid()),
                    order_id: Some(order_id),
                    backordered: *q,
                    ..Default::default()
                };
                store::apply(&tx, &m, now).await?;
            }
            alerts.backordered(&tx, tenant, order_id, order.number, &short).await?;
        }
        let envelope = crate::orders::advance(
            &tx,
            state,
            tenant,
            order_id,
            OrderStatus::PaymentAuthorized,
            to,
            &reason,
            now,
        )
        .await?;
        alerts.events.insert(0, envelope);
        tx.commit().await?;
        Reservation { status: to, reserved, short }
    };
    alerts.publish().await;
    Ok(Some(done))
}

pub(super) fn describe(short: &[(String, i64)]) -> String {
    short.iter().map(|(s, q)| format!("{q} × {s}")).collect::<Vec<_>>().join(", ")
}
