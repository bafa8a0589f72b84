//! What people read and keep: warehouses, levels, the ledger, an order's stock, alerts, the
//! forecast and the availability a tenant may know. Every read runs in the acting tenant: the
//! database shows an owner its own stock, a tenant its own orders' reservations.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::FieldError;
use crate::identity::Principal;
use crate::inventory::model::{
    self, Alerts, Availability, Error, Forecast, ForecastQuery, LevelFilter, LevelView, MovementFilter,
    MovementView, NewWarehouse, OrderStock, Warehouse, WarehousePatch,
};
use crate::inventory::store;
use crate::platform::audit::{self, Entry};
use crate::platform::state::AppState;

/// Opens the acting tenant's transaction on the application role.
macro_rules! tx {
    ($state:expr, $p:expr, $conn:ident) => {{
        $conn = $state.db().await?.conn().await?;
        $p.tx(&mut $conn).await?
    }};
}

/// The warehouses the acting tenant owns (every one, for the platform), newest first.
pub async fn warehouses(
    state: &AppState,
    p: &Principal,
    active: Option<bool>,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<Warehouse>, Error> {
    let mut conn;
    let tx = tx!(state, p, conn);
    store::warehouses(&tx, active, limit, cursor).await
}

/// Makes a warehouse of the acting tenant (the platform, or a vendor), audited.
pub async fn create_warehouse(
    state: &AppState,
    p: &Principal,
    new: &NewWarehouse,
) -> Result<Warehouse, Error> {
    new.check()?;
    let mut conn;
    let tx = tx!(state, p, conn);
    let id = store::insert_warehouse(
        &tx,
        p.tenant.as_uuid(),
        &new.code,
        new.name.trim(),
        &new.kind,
        &new.address,
        new.priority,
        &new.zones,
        p.now,
    )
    .await
    .map_err(|e| match &e {
        Error::Store(db) if crate::platform::error::unique_violation(db).is_some() => Error::Conflict {
            code: "warehouse_code_taken",
            detail: format!("a warehouse {} exists", new.code),
        },
        _ => e,
    })?;
    let made = store::warehouse_by_id(&tx, id, false)
        .await?
        .ok_or_else(|| Error::NotFound("the warehouse".into()))?;
    audit::record(&tx, p, Entry::new("inventory.warehouse_created", "warehouse", id).after(&made)).await?;
    tx.commit().await?;
    Ok(made)
}

/// Changes a warehouse the acting tenant owns, audited.
pub async fn update_warehouse(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    patch: &WarehousePatch,
) -> Result<Warehouse, Error> {
    let mut conn;
    let tx = tx!(state, p, conn);
    let before = store::warehouse_by_id(&tx, id, true)
        .await?
        .ok_or_else(|| Error::NotFound("the warehouse".into()))?;
    let after = patch.apply(&before)?;
    store::update_warehouse(&tx, &after, p.now).await?;
    let after = store::warehouse_by_id(&tx, id, false)
        .await?
        .ok_or_else(|| Error::NotFound("the warehouse".into()))?;
    audit::record(
        &tx,
        p,
        Entry::new("inventory.warehouse_updated", "warehouse", id).before(&before).after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn levels(
    state: &AppState,
    p: &Principal,
    f: &LevelFilter,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<LevelView>, Error> {
    let mut conn;
    let tx = tx!(state, p, conn);
    store::levels(&tx, f, limit, cursor).await
}

pub async fn movements(
    state: &AppState,
    p: &Principal,
    f: &MovementFilter,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<MovementView>, Error> {
    let mut conn;
    let tx = tx!(state, p, conn);
    store::movements(&tx, f, limit, cursor).await
}

/// An order's reservations and backorders (the acting tenant's order).
pub async fn order_stock(state: &AppState, p: &Principal, order_id: Uuid) -> Result<OrderStock, Error> {
    let mut conn;
    let tx = tx!(state, p, conn);
    // The order must be the tenant's: its absence is a 404, not an empty list.
    if !crate::orders::order_exists(&tx, order_id).await? {
        return Err(Error::NotFound("the order".into()));
    }
    Ok(OrderStock {
        order_id,
        reservations: store::reservations_of(&tx, order_id, &[], false).await?,
        backorders: store::backorders_of(&tx, order_id, false, false).await?,
    })
}

/// Low levels the tenant owns (every owner's for the platform) and open backorders of the acting
/// tenant's orders (platform staff look at a tenant's with `X-Tenant-Id`, as for its orders).
pub async fn alerts(state: &AppState, p: &Principal) -> Result<Alerts, Error> {
    let mut conn;
    let tx = tx!(state, p, conn);
    let low = LevelFilter { low: Some(true), ..Default::default() };
    Ok(Alerts {
        low_stock: store::levels(&tx, &low, 500, None).await?.into_iter().take(500).collect(),
        backorders: store::open_backorders(&tx, None, 500).await?.into_iter().map(|(_, b)| b).collect(),
    })
}

/// Per SKU of the stock the tenant owns: demand by day over the history's whole days (what the
/// stock step reserved or backordered), smoothed, and what to reorder when.
pub async fn forecast(state: &AppState, p: &Principal, q: &ForecastQuery) -> Result<Vec<Forecast>, Error> {
    let settings = q.check()?;
    let today = p.now.date_naive();
    // Whole days only: the history ends yesterday.
    let from =
        (today - chrono::Duration::days(settings.history_days)).and_time(chrono::NaiveTime::MIN).and_utc();
    let until = today.and_time(chrono::NaiveTime::MIN).and_utc();
    let mut conn;
    let tx = tx!(state, p, conn);
    let sku = q.platform_sku.as_deref();
    let mut per_sku: BTreeMap<String, (i64, i64, Vec<i64>)> = BTreeMap::new();
    for (s, on_hand, available) in store::totals(&tx, sku).await? {
        per_sku.insert(s, (on_hand, available, vec![0; settings.history_days as usize]));
    }
    for (s, day, units) in store::daily_demand(&tx, sku, from, until).await? {
        let entry = per_sku.entry(s).or_insert_with(|| (0, 0, vec![0; settings.history_days as usize]));
        let i = (day - from.date_naive()).num_days();
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| entry.2.get_mut(i)) {
            *slot += units;
        }
    }
    Ok(per_sku
        .into_iter()
        .map(|(s, (on_hand, available, history))| {
            model::forecast(&s, &history, on_hand, available, settings, today)
        })
        .collect())
}

/// Units available of platform SKUs the acting tenant sells, whoever stocks them: totals only,
/// no warehouse, nothing of another tenant. Every SKU it cannot sell is named at once.
pub async fn availability(
    state: &AppState,
    p: &Principal,
    skus: &[String],
) -> Result<Vec<Availability>, Error> {
    let mut errors = Vec::new();
    if skus.is_empty() || skus.len() > 100 {
        errors.push(FieldError::new("query:platform_sku", "invalid", "1 to 100 SKUs, comma-separated"));
    }
    let mut conn;
    let tx = tx!(state, p, conn);
    for (i, sku) in skus.iter().enumerate() {
        if crate::catalog::require_sellable(&tx, sku, "platform_sku").await.is_err() {
            errors.push(FieldError::new(
                format!("query:platform_sku[{i}]"),
                "unknown_product",
                format!("no platform product {sku:?} is available to this tenant"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let found: BTreeMap<String, i64> = store::available(&tx, skus).await?.into_iter().collect();
    Ok(skus
        .iter()
        .map(|s| Availability {
            platform_sku: s.clone(),
            available: found.get(s).copied().unwrap_or(0).max(0),
        })
        .collect())
}
