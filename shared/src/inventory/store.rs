//! Inventory in Postgres: every SQL string of the context. A level is changed only by
//! [`apply`], which writes its ledger row in the same statement's transaction.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::model::{
    BackorderView, Candidate, Error, Level, LevelFilter, LevelView, MovementFilter, MovementView,
    ReservationView, Warehouse,
};

/// The levels of `skus`, locked (`FOR UPDATE`) in one fixed order — by SKU, then warehouse — so
/// two transactions touching the same levels never wait on each other in a circle; every level of
/// the SKUs is locked (an inactive warehouse's too: a release or a fill may change it), and those
/// at active warehouses are the candidates, with each warehouse's kind, zones, priority and code.
pub async fn lock_levels(
    tx: &Transaction<'_>,
    skus: &[String],
    destination: Option<&str>,
) -> Result<Vec<Candidate>, Error> {
    let rows = tx
        .query(
            "SELECT l.warehouse_id, l.platform_sku, l.on_hand - l.reserved - l.committed, w.kind = 'internal',
                    array_position(w.zones, $2::text), w.priority, w.code, w.active
               FROM stock_levels l JOIN warehouses w ON w.id = l.warehouse_id
              WHERE l.platform_sku = ANY($1)
              ORDER BY l.platform_sku, l.warehouse_id
                FOR UPDATE OF l",
            &[&skus, &destination],
        )
        .await?;
    let mut out: Vec<Candidate> = Vec::new();
    for r in rows.iter().filter(|r| r.get::<_, bool>(7)) {
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
/// Also, when the level has just become low, its owner (available at or below its reorder point, or
/// [`DEFAULT_LOW_STOCK`](super::model::DEFAULT_LOW_STOCK) units): the low-stock alert goes out once
/// per dip.
pub async fn apply(
    tx: &Transaction<'_>,
    m: &Movement<'_>,
    now: DateTime<Utc>,
) -> Result<(Level, Option<Uuid>), Error> {
    // The level is made (empty) if missing, then changed: an upsert would check the row it proposes
    // (deltas alone) against `available >= 0` before finding the row it updates.
    tx.execute(
        "INSERT INTO stock_levels (id, warehouse_id, platform_sku, owner_tenant_id, updated_at)
         SELECT $4, w.id, $2, w.owner_tenant_id, $3 FROM warehouses w WHERE w.id = $1
         ON CONFLICT (warehouse_id, platform_sku) DO NOTHING",
        &[&m.warehouse_id, &m.platform_sku, &now, &Uuid::now_v7()],
    )
    .await?;
    // The sub-select locks the row and reads whether it was low before (the latest version).
    let row = tx
        .query_opt(
            "UPDATE stock_levels l SET on_hand = l.on_hand + $3, reserved = l.reserved + $4, committed = l.committed + $5,
                    backordered = l.backordered + $6, updated_at = $7,
                    low_alerted = (l.on_hand + $3 - l.reserved - $4 - l.committed - $5) <= COALESCE(l.reorder_point, $8)
               FROM (SELECT low_alerted AS was FROM stock_levels WHERE warehouse_id = $1 AND platform_sku = $2 FOR UPDATE) o
              WHERE l.warehouse_id = $1 AND l.platform_sku = $2
             RETURNING l.owner_tenant_id, l.on_hand, l.reserved, l.committed, l.backordered,
                       CASE WHEN l.low_alerted AND NOT o.was THEN l.owner_tenant_id END",
            &[
                &m.warehouse_id,
                &m.platform_sku,
                &m.on_hand,
                &m.reserved,
                &m.committed,
                &m.backordered,
                &now,
                &super::model::DEFAULT_LOW_STOCK,
            ],
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
    let level = Level {
        warehouse_id: m.warehouse_id,
        platform_sku: m.platform_sku.to_owned(),
        on_hand,
        reserved,
        committed,
        backordered: row.get(4),
        available: on_hand - reserved - committed,
    };
    Ok((level, row.get(5)))
}

#[allow(clippy::too_many_arguments)]
/// Reserves units of an order at a warehouse (added to what it holds there already); the
/// reservation's id.
pub async fn insert_reservation(
    tx: &Transaction<'_>,
    id: Uuid,
    tenant: Uuid,
    order: Uuid,
    warehouse: Uuid,
    sku: &str,
    quantity: i64,
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let row = tx.query_one(
        "INSERT INTO reservations (id, tenant_id, order_id, warehouse_id, platform_sku, quantity, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'reserved', $7, $7)
         ON CONFLICT (order_id, platform_sku, warehouse_id)
         DO UPDATE SET quantity = reservations.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
         RETURNING id",
        &[&id, &tenant, &order, &warehouse, &sku, &quantity, &now],
    )
    .await?;
    Ok(row.get(0))
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

const WAREHOUSE: &str = "w.id, w.owner_tenant_id, w.code, w.name, w.kind, w.address, w.priority, w.active, w.zones, w.created_at, w.updated_at";

fn warehouse(r: &tokio_postgres::Row) -> Warehouse {
    Warehouse {
        id: r.get(0),
        owner_tenant_id: r.get(1),
        code: r.get(2),
        name: r.get(3),
        kind: r.get(4),
        address: r.get(5),
        priority: r.get(6),
        active: r.get(7),
        zones: r.get(8),
        created_at: r.get(9),
        updated_at: r.get(10),
    }
}

/// The warehouses the transaction may see, newest first.
pub async fn warehouses(
    tx: &Transaction<'_>,
    active: Option<bool>,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<Warehouse>, Error> {
    let rows = tx
        .query(
            &format!(
                "SELECT {WAREHOUSE} FROM warehouses w
                  WHERE ($1::boolean IS NULL OR w.active = $1) AND ($2::uuid IS NULL OR w.id < $2)
                  ORDER BY w.id DESC LIMIT $3"
            ),
            &[&active, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(warehouse).collect())
}

/// One warehouse (locked when `lock`), if the transaction may see it.
pub async fn warehouse_by_id(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Option<Warehouse>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row =
        tx.query_opt(&format!("SELECT {WAREHOUSE} FROM warehouses w WHERE w.id = $1{lock}"), &[&id]).await?;
    Ok(row.as_ref().map(warehouse))
}

pub async fn update_warehouse(tx: &Transaction<'_>, w: &Warehouse, now: DateTime<Utc>) -> Result<(), Error> {
    tx.execute(
        "UPDATE warehouses SET name = $2, address = $3, priority = $4, zones = $5, active = $6, updated_at = $7
          WHERE id = $1",
        &[&w.id, &w.name, &w.address, &w.priority, &w.zones, &w.active, &now],
    )
    .await?;
    Ok(())
}

const LEVEL: &str =
    "l.id, w.code, l.warehouse_id, l.platform_sku, l.on_hand, l.reserved, l.committed, l.backordered,
                     l.reorder_point, l.updated_at";

fn level_view(r: &tokio_postgres::Row) -> LevelView {
    let (on_hand, reserved, committed): (i64, i64, i64) = (r.get(4), r.get(5), r.get(6));
    let reorder_point: Option<i64> = r.get(8);
    let available = on_hand - reserved - committed;
    LevelView {
        id: r.get(0),
        warehouse_code: r.get(1),
        level: Level {
            warehouse_id: r.get(2),
            platform_sku: r.get(3),
            on_hand,
            reserved,
            committed,
            backordered: r.get(7),
            available,
        },
        reorder_point,
        low: available <= reorder_point.unwrap_or(super::model::DEFAULT_LOW_STOCK),
        updated_at: r.get(9),
    }
}

/// A level at or below its reorder point (`$5`: the default point).
const IS_LOW: &str = "(l.on_hand - l.reserved - l.committed) <= COALESCE(l.reorder_point, $5)";

/// Levels the transaction may see (their owner's), filtered, by id.
pub async fn levels(
    tx: &Transaction<'_>,
    f: &LevelFilter,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<LevelView>, Error> {
    let rows = tx
        .query(
            &format!(
                "SELECT {LEVEL} FROM stock_levels l JOIN warehouses w ON w.id = l.warehouse_id
                  WHERE ($1::text IS NULL OR l.platform_sku = $1) AND ($2::uuid IS NULL OR l.warehouse_id = $2)
                    AND ($3::boolean IS NULL OR ({IS_LOW}) = $3) AND ($4::uuid IS NULL OR l.id < $4)
                  ORDER BY l.id DESC LIMIT $6"
            ),
            &[&f.platform_sku, &f.warehouse_id, &f.low, &cursor, &super::model::DEFAULT_LOW_STOCK, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(level_view).collect())
}

/// One level as the API shows it.
pub async fn level(tx: &Transaction<'_>, warehouse: Uuid, sku: &str) -> Result<Option<LevelView>, Error> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT {LEVEL} FROM stock_levels l JOIN warehouses w ON w.id = l.warehouse_id
                  WHERE l.warehouse_id = $1 AND l.platform_sku = $2"
            ),
            &[&warehouse, &sku],
        )
        .await?;
    Ok(row.as_ref().map(level_view))
}

pub async fn set_reorder_point(
    tx: &Transaction<'_>,
    warehouse: Uuid,
    sku: &str,
    point: i64,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE stock_levels SET reorder_point = $3, low_alerted = (on_hand - reserved - committed) <= $3
          WHERE warehouse_id = $1 AND platform_sku = $2",
        &[&warehouse, &sku, &point],
    )
    .await?;
    Ok(())
}

/// A movement as its reader may see it: an owner (a vendor) sees its stock move, but not which
/// other tenant's order moved it, nor who (the order, the reservation, the actor and the note stay
/// with that tenant and the platform).
const MOVEMENT: &str = "SELECT m.id, m.warehouse_id, m.platform_sku, m.reason, m.at, m.on_hand, m.reserved,
                               m.committed, m.backordered, v.mine,
                               CASE WHEN v.mine THEN m.actor_kind ELSE 'order' END AS actor_kind,
                               CASE WHEN v.mine THEN m.actor_id END AS actor_id,
                               CASE WHEN v.mine THEN m.order_id END AS order_id,
                               CASE WHEN v.mine THEN m.reservation_id END AS reservation_id,
                               CASE WHEN v.mine THEN m.note END AS note
                          FROM inventory_movements m,
                               LATERAL (SELECT m.tenant_id IS NULL OR m.tenant_id = app_current_tenant()
                                               OR app_acting_as_platform() AS mine) v";

/// Ledger rows the transaction may see, filtered, newest first.
pub async fn movements(
    tx: &Transaction<'_>,
    f: &MovementFilter,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<MovementView>, Error> {
    let rows = tx
        .query(
            &format!(
                "SELECT * FROM ({MOVEMENT}) m
                  WHERE ($1::text IS NULL OR m.platform_sku = $1) AND ($2::uuid IS NULL OR m.warehouse_id = $2)
                    AND ($3::uuid IS NULL OR m.order_id = $3) AND ($4::text IS NULL OR m.reason = $4)
                    AND ($5::timestamptz IS NULL OR m.at >= $5) AND ($6::timestamptz IS NULL OR m.at < $6)
                    AND ($7::uuid IS NULL OR m.id < $7)
                  ORDER BY m.id DESC LIMIT $8"
            ),
            &[&f.platform_sku, &f.warehouse_id, &f.order_id, &f.reason, &f.from, &f.to, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| MovementView {
            id: r.get("id"),
            warehouse_id: r.get("warehouse_id"),
            platform_sku: r.get("platform_sku"),
            reason: r.get("reason"),
            note: r.get("note"),
            actor_kind: r.get("actor_kind"),
            actor_id: r.get("actor_id"),
            order_id: r.get("order_id"),
            reservation_id: r.get("reservation_id"),
            on_hand: r.get("on_hand"),
            reserved: r.get("reserved"),
            committed: r.get("committed"),
            backordered: r.get("backordered"),
            at: r.get("at"),
        })
        .collect())
}

/// An order's reservations in `statuses` (all when empty), locked when `lock`.
pub async fn reservations_of(
    tx: &Transaction<'_>,
    order: Uuid,
    statuses: &[&str],
    lock: bool,
) -> Result<Vec<ReservationView>, Error> {
    let statuses: Vec<String> = statuses.iter().map(|s| (*s).to_owned()).collect();
    let lock = if lock { " FOR UPDATE" } else { "" };
    let rows = tx
        .query(
            &format!(
                "SELECT id, warehouse_id, platform_sku, quantity, status, created_at, updated_at FROM reservations
                  WHERE order_id = $1 AND (cardinality($2::text[]) = 0 OR status = ANY($2))
                  ORDER BY platform_sku, warehouse_id{lock}"
            ),
            &[&order, &statuses],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| ReservationView {
            id: r.get(0),
            warehouse_id: r.get(1),
            platform_sku: r.get(2),
            quantity: r.get(3),
            status: r.get(4),
            created_at: r.get(5),
            updated_at: r.get(6),
        })
        .collect())
}

pub async fn set_reservation_status(
    tx: &Transaction<'_>,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute("UPDATE reservations SET status = $2, updated_at = $3 WHERE id = $1", &[&id, &status, &now])
        .await?;
    Ok(())
}

const BACKORDER: &str =
    "b.id, b.order_id, b.platform_sku, b.warehouse_id, b.quantity, b.status, b.created_at, b.filled_at";

fn backorder(r: &tokio_postgres::Row) -> BackorderView {
    BackorderView {
        id: r.get(0),
        order_id: r.get(1),
        platform_sku: r.get(2),
        warehouse_id: r.get(3),
        quantity: r.get(4),
        status: r.get(5),
        created_at: r.get(6),
        filled_at: r.get(7),
    }
}

/// An order's backorders (`open` only when `open`), locked when `lock`.
pub async fn backorders_of(
    tx: &Transaction<'_>,
    order: Uuid,
    open: bool,
    lock: bool,
) -> Result<Vec<BackorderView>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let rows = tx
        .query(
            &format!(
                "SELECT {BACKORDER} FROM backorders b WHERE b.order_id = $1 AND (NOT $2 OR b.status = 'open')
                  ORDER BY b.platform_sku{lock}"
            ),
            &[&order, &open],
        )
        .await?;
    Ok(rows.iter().map(backorder).collect())
}

/// Open backorders (of `skus`, or every SKU when none), oldest first, with their tenant.
pub async fn open_backorders(
    tx: &Transaction<'_>,
    skus: Option<&[String]>,
    limit: i64,
) -> Result<Vec<(Uuid, BackorderView)>, Error> {
    let rows = tx
        .query(
            &format!(
                "SELECT b.tenant_id, {BACKORDER} FROM backorders b
                  WHERE b.status = 'open' AND ($1::text[] IS NULL OR b.platform_sku = ANY($1))
                  ORDER BY b.created_at, b.id LIMIT $2"
            ),
            &[&skus, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let tenant: Uuid = r.get(0);
            let b = BackorderView {
                id: r.get(1),
                order_id: r.get(2),
                platform_sku: r.get(3),
                warehouse_id: r.get(4),
                quantity: r.get(5),
                status: r.get(6),
                created_at: r.get(7),
                filled_at: r.get(8),
            };
            (tenant, b)
        })
        .collect())
}

pub async fn set_backorder_status(
    tx: &Transaction<'_>,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE backorders SET status = $2, filled_at = CASE WHEN $2 = 'filled' THEN $3::timestamptz END WHERE id = $1",
        &[&id, &status, &now],
    )
    .await?;
    Ok(())
}

/// Units ordered (reserved or backordered by the stock step) per SKU and day from `from` until
/// `until`, of the levels the transaction may see.
pub async fn daily_demand(
    tx: &Transaction<'_>,
    sku: Option<&str>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(String, chrono::NaiveDate, i64)>, Error> {
    let rows = tx
        .query(
            "SELECT platform_sku, (at AT TIME ZONE 'UTC')::date, sum(reserved + backordered)::bigint
               FROM inventory_movements
              WHERE reason IN ('reserved', 'backordered') AND at >= $1 AND at < $3
                AND ($2::text IS NULL OR platform_sku = $2)
              GROUP BY 1, 2",
            &[&from, &sku, &until],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// On hand and available per SKU across the levels the transaction may see.
pub async fn totals(tx: &Transaction<'_>, sku: Option<&str>) -> Result<Vec<(String, i64, i64)>, Error> {
    let rows = tx
        .query(
            "SELECT platform_sku, sum(on_hand)::bigint, sum(on_hand - reserved - committed)::bigint
               FROM stock_levels WHERE ($1::text IS NULL OR platform_sku = $1) GROUP BY 1",
            &[&sku],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// Units available per SKU across active warehouses, whoever owns them (what a tenant may know of
/// stock it sells: no warehouse, no reservation).
pub async fn available(tx: &Transaction<'_>, skus: &[String]) -> Result<Vec<(String, i64)>, Error> {
    let rows = tx
        .query("SELECT platform_sku, available FROM stock_available($1) ORDER BY platform_sku", &[&skus])
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
