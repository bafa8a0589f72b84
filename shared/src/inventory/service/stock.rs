//! Stock moving: receipts and adjustments (audited), the backorders they fill, and an order's
//! reservations released, committed (a label bought) or shipped. Every change is a level change
//! with its ledger row ([`store::apply`]).

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::Alerting;
use crate::identity::Principal;
use crate::inventory::model::{self, Adjustment, Error, LevelView, Receipt};
use crate::inventory::store::{self, Movement};
use crate::orders::OrderStatus;
use crate::platform::audit::{self, Entry};
use crate::platform::db::{Db, scoped_tx};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

fn actor(p: &Principal) -> (&'static str, Option<Uuid>) {
    if p.key_id.is_some() { ("api_key", p.key_id) } else { ("user", Some(p.user_id)) }
}

/// Changes one level by a person's hand (a receipt or an adjustment) in the acting tenant (the
/// warehouse must be the tenant's — the database hides another owner's), audited; then, if units
/// arrived, fills the SKU's backorders. The level after, and the orders whose backorders filled.
async fn by_hand(
    state: &AppState,
    p: &Principal,
    m: Movement<'_>,
    reorder_point: Option<i64>,
    action: &'static str,
) -> Result<(LevelView, Vec<Uuid>), Error> {
    let sku = m.platform_sku.to_owned();
    let mut alerts = Alerting::new(state);
    let view = {
        let mut conn = state.db().await?.conn().await?;
        let tx = p.tx(&mut conn).await?;
        store::warehouse_by_id(&tx, m.warehouse_id, false)
            .await?
            .ok_or_else(|| Error::NotFound("the warehouse".into()))?;
        if crate::catalog::product_by_sku(&tx, &sku)
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .is_none()
        {
            return Err(Error::Invalid(vec![crate::FieldError::new(
                "platform_sku",
                "unknown_product",
                format!("no platform product {sku:?}"),
            )]));
        }
        let before = store::level(&tx, m.warehouse_id, &sku).await?;
        if let Some(point) = reorder_point {
            // The level is made if missing (a ledger row of no units says who set the point).
            store::apply(&tx, &Movement { reason: "reorder_point", on_hand: 0, ..m.clone() }, p.now).await?;
            store::set_reorder_point(&tx, m.warehouse_id, &sku, point).await?;
        }
        if m.on_hand != 0 {
            let change = store::apply(&tx, &m, p.now).await.map_err(|e| below_zero(e, &sku))?;
            alerts.applied(&tx, change).await?;
        }
        let after = store::level(&tx, m.warehouse_id, &sku)
            .await?
            .ok_or_else(|| Error::NotFound("the level".into()))?;
        let entry = Entry::new(action, "stock_level", after.id).after(
            serde_json::json!({"reason": m.reason, "note": m.note, "quantity": m.on_hand, "level": after}),
        );
        let entry = match &before {
            Some(b) => entry.before(b),
            None => entry,
        };
        audit::record(&tx, p, entry).await.map_err(|e| Error::Internal(e.to_string()))?;
        tx.commit().await?;
        after
    };
    alerts.publish().await;
    if m.on_hand <= 0 {
        return Ok((view, Vec::new()));
    }
    // The units are in (committed): a fill that fails now is left to the next receipt or the sweep,
    // never reported as a failed receipt.
    let filled = match fill_backorders(state, state.ops_db().await?, std::slice::from_ref(&sku)).await {
        Ok(filled) => filled,
        Err(e) => {
            tracing::warn!(error = %e, sku, "backorders not filled now");
            Vec::new()
        }
    };
    if filled.is_empty() {
        return Ok((view, filled));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = p.tx(&mut conn).await?;
    let view = store::level(&tx, m.warehouse_id, &sku).await?.unwrap_or(view);
    Ok((view, filled))
}

/// A level cannot go below zero: that is the request's fault (409), not a server error.
fn below_zero(e: Error, sku: &str) -> Error {
    match &e {
        Error::Store(db)
            if db
                .as_db_error()
                .is_some_and(|d| *d.code() == tokio_postgres::error::SqlState::CHECK_VIOLATION) =>
        {
            Error::Conflict {
                code: "insufficient_stock",
                detail: format!(
                    "{sku}: the adjustment would leave less than what is reserved and committed, or below zero"
                ),
            }
        }
        _ => e,
    }
}

/// Stock arriving at a warehouse (`received`); then backorders for the SKU fill, oldest first.
pub async fn receive(state: &AppState, p: &Principal, r: &Receipt) -> Result<(LevelView, Vec<Uuid>), Error> {
    r.check()?;
    let note = r.ledger_note();
    let m = Movement {
        warehouse_id: r.warehouse_id,
        platform_sku: &r.platform_sku,
        reason: "received",
        note: note.as_deref(),
        actor: actor(p),
        on_hand: r.quantity,
        ..Default::default()
    };
    by_hand(state, p, m, None, "inventory.received").await
}

/// A counted correction of on-hand stock with its reason code (and, optionally, a new reorder
/// point); units added fill backorders as a receipt does.
pub async fn adjust(
    state: &AppState,
    p: &Principal,
    a: &Adjustment,
) -> Result<(LevelView, Vec<Uuid>), Error> {
    a.check()?;
    let m = Movement {
        warehouse_id: a.warehouse_id,
        platform_sku: &a.platform_sku,
        reason: &a.reason,
        note: a.note.as_deref(),
        actor: actor(p),
        on_hand: a.quantity,
        ..Default::default()
    };
    by_hand(state, p, m, a.reorder_point, "inventory.adjusted").await
}

/// Fills what a backordered order waits for from the stock there is now (the orders waiting
/// longer for the same SKUs come first); the orders filled.
pub async fn fill_order(
    state: &AppState,
    ops: &Db,
    tenant: TenantId,
    order: Uuid,
) -> Result<Vec<Uuid>, Error> {
    let skus: Vec<String> = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        let demand = crate::orders::stock_demand(&tx, order).await?;
        let mut skus: Vec<String> = demand.lines.into_iter().map(|(s, _)| s).collect();
        skus.sort();
        skus.dedup();
        skus
    };
    fill_backorders(state, ops, &skus).await
}

/// Fills open backorders of `skus` from what is available now, oldest first (a backorder that
/// cannot be filled whole keeps the younger ones of its SKU waiting). An order whose every
/// backorder is filled moves `backordered` → `inventory_reserved` with its event. Across tenants
/// (the operations role). The orders moved.
pub async fn fill_backorders(state: &AppState, ops: &Db, skus: &[String]) -> Result<Vec<Uuid>, Error> {
    let now = state.clock().now();
    let mut alerts = Alerting::new(state);
    let moved = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        let waiting = store::open_backorders(&tx, Some(skus), 500).await?;
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        // Lock order: the orders (by id), then the levels.
        let orders: BTreeMap<Uuid, Uuid> = waiting.iter().map(|(t, b)| (b.order_id, *t)).collect();
        let mut backordered = BTreeSet::new();
        for id in orders.keys() {
            if crate::orders::stock_demand(&tx, *id).await?.status == OrderStatus::Backordered {
                backordered.insert(*id);
            }
        }
        // What is open now that the orders are held (a cancel may have closed some meanwhile).
        let waiting = store::open_backorders(&tx, Some(skus), 500).await?;
        let mut candidates = store::lock_levels(&tx, skus, None).await?;
        let mut blocked = BTreeSet::new();
        let mut touched = BTreeSet::new();
        for (tenant, b) in &waiting {
            if !backordered.contains(&b.order_id) || blocked.contains(&b.platform_sku) {
                continue;
            }
            let alloc = model::allocate(&[(b.platform_sku.clone(), b.quantity)], candidates.clone(), true);
            if !alloc.short.is_empty() {
                blocked.insert(b.platform_sku.clone());
                continue;
            }
            for (warehouse, sku, q) in &alloc.picks {
                let id = store::insert_reservation(
                    &tx,
                    Uuid::now_v7(),
                    *tenant,
                    b.order_id,
                    *warehouse,
                    sku,
                    *q,
                    now,
                )
                .await?;
                let m = Movement {
                    warehouse_id: *warehouse,
                    platform_sku: sku,
                    reason: "backorder_filled",
                    actor: ("system", None),
                    tenant_id: Some(*tenant),
                    order_id: Some(b.order_id),
                    reservation_id: Some(id),
                    reserved: *q,
                    ..Default::default()
                };
                alerts.applied(&tx, store::apply(&tx, &m, now).await?).await?;
                if let Some(c) = candidates.iter_mut().find(|c| c.warehouse_id == *warehouse) {
                    *c.available.entry(sku.clone()).or_default() -= q;
                }
            }
            if let Some(warehouse) = b.warehouse_id {
                let m = Movement {
                    warehouse_id: warehouse,
                    platform_sku: &b.platform_sku,
                    reason: "backorder_filled",
                    actor: ("system", None),
                    tenant_id: Some(*tenant),
                    order_id: Some(b.order_id),
                    backordered: -b.quantity,
                    ..Default::default()
                };
                store::apply(&tx, &m, now).await?;
            }
            store::set_backorder_status(&tx, b.id, "filled", now).await?;
            touched.insert((b.order_id, *tenant));
        }
        let mut moved = Vec::new();
        for (order, tenant) in touched {
            if store::backorders_of(&tx, order, true, false).await?.is_empty() {
                let tenant = TenantId::from_uuid(tenant);
                let reason = "backorder filled: every unit reserved";
                let envelope = crate::orders::advance(
                    &tx,
                    state,
                    tenant,
                    order,
                    OrderStatus::Backordered,
                    OrderStatus::InventoryReserved,
                    reason,
                    now,
                )
                .await?;
                alerts.events.push(envelope);
                moved.push(order);
            }
        }
        tx.commit().await?;
        moved
    };
    alerts.publish().await;
    Ok(moved)
}

/// Moves an order's reservations in `from` to `to`, each with its ledger row (`reason`), and,
/// when `close_backorders`, cancels its open backorders. Only when the order is in one of
/// `statuses` (otherwise `None`: left alone). The reservations moved.
#[allow(clippy::too_many_arguments)]
async fn move_reservations(
    state: &AppState,
    ops: &Db,
    tenant: TenantId,
    order_id: Uuid,
    statuses: &[OrderStatus],
    from: &[&str],
    to: &str,
    reason: &str,
    close_backorders: bool,
) -> Result<Option<usize>, Error> {
    let now = state.clock().now();
    let mut alerts = Alerting::new(state);
    let moved = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        let order = crate::orders::stock_demand(&tx, order_id).await?;
        if !statuses.contains(&order.status) {
            return Ok(None);
        }
        let held = store::reservations_of(&tx, order_id, from, true).await?;
        let waiting = if close_backorders {
            store::backorders_of(&tx, order_id, true, true).await?
        } else {
            Vec::new()
        };
        // Every level these touch, locked in the one order before any changes.
        let skus: BTreeSet<String> = held
            .iter()
            .map(|r| r.platform_sku.clone())
            .chain(waiting.iter().map(|b| b.platform_sku.clone()))
            .collect();
        store::lock_levels(&tx, &skus.into_iter().collect::<Vec<_>>(), None).await?;
        for r in &held {
            let mut m = Movement {
                warehouse_id: r.warehouse_id,
                platform_sku: &r.platform_sku,
                reason,
                actor: ("system", None),
                tenant_id: Some(tenant.as_uuid()),
                order_id: Some(order_id),
                reservation_id: Some(r.id),
                ..Default::default()
            };
            match (r.status.as_str(), to) {
                ("reserved", "committed") => (m.reserved, m.committed) = (-r.quantity, r.quantity),
                ("committed", "shipped") => (m.committed, m.on_hand) = (-r.quantity, -r.quantity),
                ("reserved", "released") => m.reserved = -r.quantity,
                ("committed", "released") => m.committed = -r.quantity,
                (a, b) => return Err(Error::Internal(format!("no reservation moves from {a} to {b}"))),
            }
            alerts.applied(&tx, store::apply(&tx, &m, now).await?).await?;
            store::set_reservation_status(&tx, r.id, to, now).await?;
        }
        if to == "released" && !held.is_empty() {
            let units: i64 = held.iter().map(|r| r.quantity).sum();
            let unit = if units == 1 { "unit" } else { "units" };
            let undo = format!("stock released: {units} {unit} back to available");
            crate::orders::record_undo(&tx, tenant, order_id, &undo, now).await?;
        }
        {
            for b in waiting {
                if let Some(warehouse) = b.warehouse_id {
                    let m = Movement {
                        warehouse_id: warehouse,
                        platform_sku: &b.platform_sku,
                        reason: "backorder_cancelled",
                        actor: ("system", None),
                        tenant_id: Some(tenant.as_uuid()),
                        order_id: Some(order_id),
                        backordered: -b.quantity,
                        ..Default::default()
                    };
                    store::apply(&tx, &m, now).await?;
                }
                store::set_backorder_status(&tx, b.id, "cancelled", now).await?;
            }
        }
        tx.commit().await?;
        held.len()
    };
    alerts.publish().await;
    Ok(Some(moved))
}

/// Releases a cancelled order's stock: reserved and committed units back to available, open
/// backorders cancelled. Repeating it changes nothing. `None` when the order is not cancelled.
pub async fn release_order(
    state: &AppState,
    ops: &Db,
    tenant: TenantId,
    order: Uuid,
) -> Result<Option<usize>, Error> {
    move_reservations(
        state,
        ops,
        tenant,
        order,
        &[OrderStatus::Cancelled],
        &["reserved", "committed"],
        "released",
        "released",
        true,
    )
    .await
}

/// A label was bought: the order's reserved units become committed (fulfillment calls this).
pub async fn commit_order(
    state: &AppState,
    ops: &Db,
    tenant: TenantId,
    order: Uuid,
) -> Result<Option<usize>, Error> {
    let statuses = [OrderStatus::InventoryReserved, OrderStatus::FulfillmentSubmitted];
    move_reservations(state, ops, tenant, order, &statuses, &["reserved"], "committed", "committed", false)
        .await
}

/// The parcels left: committed units leave on hand (fulfillment calls this).
pub async fn ship_order(
    state: &AppState,
    ops: &Db,
    tenant: TenantId,
    order: Uuid,
) -> Result<Option<usize>, Error> {
    let statuses = [
        OrderStatus::InventoryReserved,
        OrderStatus::FulfillmentSubmitted,
        OrderStatus::PartiallyShipped,
        OrderStatus::Shipped,
    ];
    move_reservations(state, ops, tenant, order, &statuses, &["committed"], "shipped", "shipped", false).await
}

/// Levels that do not equal their ledger's sums (the check any test or the sweep runs).
pub async fn ledger_mismatches(ops: &Db) -> Result<Vec<(Uuid, String, String)>, Error> {
    let mut conn = ops.conn().await?;
    let tx = scoped_tx(&mut conn, None, None).await?;
    store::ledger_mismatches(&tx).await
}

/// Writes past demand into the ledger — the demo's history, a test's — as if orders had taken
/// `daily[i]` units on each of the last `daily.len()` days (the last is yesterday): the units
/// received the first day, then each day's reserved and shipped; then `on_hand` units received
/// now.
pub async fn record_history(
    state: &AppState,
    ops: &Db,
    warehouse: Uuid,
    sku: &str,
    daily: &[i64],
    on_hand: i64,
) -> Result<(), Error> {
    let today = state.clock().now();
    let day = |i: usize| today - chrono::Duration::days((daily.len() - i) as i64);
    let mut conn = ops.conn().await?;
    let tx = scoped_tx(&mut conn, None, None).await?;
    let at = |reason, on_hand, reserved| Movement {
        warehouse_id: warehouse,
        platform_sku: sku,
        reason,
        note: Some("history"),
        actor: ("system", None),
        on_hand,
        reserved,
        ..Default::default()
    };
    store::apply(&tx, &at("received", daily.iter().sum(), 0), day(0)).await?;
    for (i, q) in daily.iter().enumerate().filter(|(_, q)| **q > 0) {
        store::apply(&tx, &at("reserved", 0, *q), day(i)).await?;
        store::apply(&tx, &at("shipped", -q, -q), day(i)).await?;
    }
    if on_hand > 0 {
        store::apply(&tx, &at("received", on_hand, 0), today).await?;
    }
    tx.commit().await?;
    Ok(())
}
