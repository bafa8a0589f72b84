//! Inventory in Postgres: every SQL string of the context. A level is changed only by
//! [`apply`], which writes its ledger row in the same statement's transaction.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::model::{Candidate, Error, Level};

/// The levels of `skus` at active warehouses, locked (`FOR UPDATE`) in one fixed order — by SKU,
/// then warehouse — so two reservations touching the same levels never wait on each other in a
/// circle. With each warehouse's kind, zones, priority and code.
pub async fn lock_levels(
    tx: &Transaction<'_>,
    skus: &[String],
    destination: Option<&str>,
) -> Result<Vec<Candidate>, Error> {
    let rows = tx
        .query(
            "SELECT l.warehouse_id, l.platform_sku, l.on_hand - l.reserved - l.committed, w.kind = 'internal',
                    array_position(w.zones, $2::text), w.priority, w.code
               FROM stock_levels l JOIN warehouses w ON w.id = l.warehouse_id
              WHERE l.platform_sku = ANY($1) AND w.active
              ORDER BY l.platform_sku, l.warehouse_id
                FOR UPDATE OF l",
            &[&skus, &destination],
        )
        .await?;
    let mut out: Vec<Candidate> = Vec::new();
    for r in rows {
        let id: Uuid = r.get(0);
        let rank: Option<i32> = r.get(4);
        let i = match out.iter().position(|c| c.warehouse_id == id) {
            Some(i) => i,
            None => {
                out.push(Candidate {
                    warehouse_id: id,
                    internal: r.get(3),
                    rank: rank.map(|p| (p - 1).max(0) as usize),
                    priority: r.get(5),
                    code: r.get(6),
                    available: Default::default(),
                });
                out.len() - 1
            }
        };
        out[i].available.insert(r.get(1), r.get(2));
    }
    Ok(out)
}

/// One change of a level: its deltas per bucket and why.
#[derive(Debug, Clone, Default)]
pub struct Movement<'a> {
    pub warehouse_id: Uuid,
    pub platform_sku: &'a str,
    pub reason: &'a str,
    pub note: Option<&'a str>,
    pub actor: (&'a str, Option<Uuid>),
    pub tenant_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub reservation_id: Option<Uuid>,
    pub on_hand: i64,
    pub reserved: i64,
    pub committed: i64,
    pub backordered: i64,
}

/// Applies a movement to its level (made if missing) and writes its ledger row; the level after.
/// The database refuses a level below zero (its CHECKs): the caller's transaction then fails whole.
pub async fn apply(tx: &Transaction<'_>, m: &Movement<'_>, now: DateTime<Utc>) -> Result<Level, Error> {
    // The level is made (empty) if missing, then changed: an upsert would check the row it proposes
    // (deltas alone) against `available >= 0` before finding the row it updates.
    tx.execute(
        "INSERT INTO stock_levels (warehouse_id, platform_sku, owner_tenant_id, updated_at)
         SELECT w.id, $2, w.owner_tenant_id, $3 FROM warehouses w WHERE w.id = $1
         ON CONFLICT (warehouse_id, platform_sku) DO NOTHING",
        &[&m.warehouse_id, &m.platform_sku, &now],
    )
    .await?;
    let row = tx
        .query_opt(
            "UPDATE stock_levels SET on_hand = on_hand + $3, reserved = reserved + $4, committed = committed + $5,
                    backordered = backordered + $6, updated_at = $7
              WHERE warehouse_id = $1 AND platform_sku = $2
             RETURNING owner_tenant_id, on_hand, reserved, committed, backordered",
            &[&m.warehouse_id, &m.platform_sku, &m.on_hand, &m.reserved, &m.committed, &m.backordered, &now],
        )
        .await?
        .ok_or_else(|| Error::NotFound(format!("warehouse {}", m.warehouse_id)))?;
    let owner: Uuid = row.get(0);
    tx.execute(
        "INSERT INTO inventory_movements (id, owner_tenant_id, warehouse_id, platform_sku, reason, note, actor_kind,
                                          actor_id, tenant_id, order_id, reservation_id, on_hand, reserved, committed,
                                          backordered, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &[
            &Uuid::now_v7(),
            &owner,
            &m.warehouse_id,
            &m.platform_sku,
            &m.reason,
            &m.note,
            &m.actor.0,
            &m.actor.1,
            &m.tenant_id,
            &m.order_id,
            &m.reservation_id,
            &m.on_hand,
            &m.reserved,
            &m.committed,
            &m.backordered,
            &now,
        ],
    )
    .await?;
    let (on_hand, reserved, committed): (i64, i64, i64) = (row.get(1), row.get(2), row.get(3));
    Ok(Level {
        warehouse_id: m.warehouse_id,
        platform_sku: m.platform_sku.to_owned(),
        on_hand,
        reserved,
        committed,
        backordered: row.get(4),
        available: on_hand - reserved - committed,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_reservation(
    tx: &Transaction<'_>,
    id: Uuid,
    tenant: Uuid,
    order: Uuid,
    warehouse: Uuid,
    sku: &str,
    quantity: i64,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO reservations (id, tenant_id, order_id, warehouse_id, platform_sku, quantity, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'reserved', $7, $7)",
        &[&id, &tenant, &order, &warehouse, &sku, &quantity, &now],
    )
    .await?;
    Ok(())
}

pub async fn insert_backorder(
    tx: &Transaction<'_>,
    tenant: Uuid,
    order: Uuid,
    warehouse: Option<Uuid>,
    sku: &str,
    quantity: i64,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO backorders (id, tenant_id, order_id, platform_sku, warehouse_id, quantity, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)",
        &[&Uuid::now_v7(), &tenant, &order, &sku, &warehouse, &quantity, &now],
    )
    .await?;
    Ok(())
}

/// Whether the order holds reservations or backorders already (a step that ran).
pub async fn has_stock_records(tx: &Transaction<'_>, order: Uuid) -> Result<bool, Error> {
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM reservations WHERE order_id = $1)
                 OR EXISTS (SELECT 1 FROM backorders WHERE order_id = $1)",
            &[&order],
        )
        .await?;
    Ok(row.get(0))
}

/// Levels that do not equal the sums of their ledger rows: (warehouse, SKU, what differs).
pub async fn ledger_mismatches(tx: &Transaction<'_>) -> Result<Vec<(Uuid, String, String)>, Error> {
    let rows = tx
        .query(
            "SELECT l.warehouse_id, l.platform_sku,
                    format('levels %s/%s/%s/%s, ledger %s/%s/%s/%s', l.on_hand, l.reserved, l.committed, l.backordered,
                           COALESCE(m.on_hand, 0), COALESCE(m.reserved, 0), COALESCE(m.committed, 0), COALESCE(m.backordered, 0))
               FROM stock_levels l
               LEFT JOIN (SELECT warehouse_id, platform_sku, sum(on_hand) AS on_hand, sum(reserved) AS reserved,
                                 sum(committed) AS committed, sum(backordered) AS backordered
                            FROM inventory_movements GROUP BY warehouse_id, platform_sku) m
                 ON m.warehouse_id = l.warehouse_id AND m.platform_sku = l.platform_sku
              WHERE (l.on_hand, l.reserved, l.committed, l.backordered)
                    IS DISTINCT FROM (COALESCE(m.on_hand, 0), COALESCE(m.reserved, 0), COALESCE(m.committed, 0), COALESCE(m.backordered, 0))",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// A new warehouse of `owner`; its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_warehouse(
    tx: &Transaction<'_>,
    owner: Uuid,
    code: &str,
    name: &str,
    kind: &str,
    address: &serde_json::Value,
    priority: i32,
    zones: &[String],
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO warehouses (id, owner_tenant_id, code, name, kind, address, priority, zones, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        &[&id, &owner, &code, &name, &kind, &address, &priority, &zones, &now],
    )
    .await?;
    Ok(id)
}
