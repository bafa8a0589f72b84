//! Stock and its rules: levels, the allocation of an order's demand across warehouses, and the
//! inventory errors. Pure: no SQL here.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("database: {0}")]
    Store(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Db(#[from] crate::platform::db::DbError),
    #[error("events: {0}")]
    Events(#[from] crate::platform::events::EventError),
    #[error(transparent)]
    Orders(#[from] crate::orders::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<crate::platform::error::ApiError> for Error {
    fn from(e: crate::platform::error::ApiError) -> Self {
        Error::Internal(e.to_string())
    }
}

/// A warehouse to make: internal or a 3PL's, with the destination states it serves, nearest first.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWarehouse {
    pub code: String,
    pub name: String,
    /// `internal` or `3pl`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub address: serde_json::Value,
    #[serde(default = "default_priority")]
    pub priority: i32,
    #[serde(default)]
    pub zones: Vec<String>,
}

fn default_priority() -> i32 {
    100
}

impl NewWarehouse {
    /// Every problem at once.
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        if self.code.is_empty()
            || self.code.len() > 40
            || !self.code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            errors.push(FieldError::new("code", "invalid", "1 to 40 letters, digits, - or _"));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            errors.push(FieldError::new("name", "invalid", "1 to 200 characters"));
        }
        if !matches!(self.kind.as_str(), "internal" | "3pl") {
            errors.push(FieldError::new("kind", "invalid", "internal or 3pl"));
        }
        if !self.address.is_object() || self.address.to_string().len() > 2000 {
            errors.push(FieldError::new(
                "address",
                "invalid",
                "an object (line1, city, state, postal_code, country)",
            ));
        }
        if !(0..=10_000).contains(&self.priority) {
            errors.push(FieldError::new("priority", "out_of_range", "0 to 10000"));
        }
        for (i, z) in self.zones.iter().enumerate() {
            if z.len() != 2 || !z.bytes().all(|b| b.is_ascii_uppercase()) {
                errors.push(FieldError::new(format!("zones[{i}]"), "invalid", "a two-letter state code"));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }
}

/// Stock of one platform SKU at one warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Level {
    pub warehouse_id: Uuid,
    pub platform_sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub committed: i64,
    pub backordered: i64,
    /// on_hand − reserved − committed.
    pub available: i64,
}

/// A warehouse as allocation ranks it for one destination.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub warehouse_id: Uuid,
    pub internal: bool,
    /// Where the destination stands in the warehouse's zones (0 = nearest); none: not served.
    pub rank: Option<usize>,
    pub priority: i32,
    pub code: String,
    /// Available units per SKU there.
    pub available: BTreeMap<String, i64>,
}

/// Where each unit of an order's demand comes from, and what is short.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    /// (warehouse, SKU, units) to reserve.
    pub picks: Vec<(Uuid, String, i64)>,
    /// (SKU, units, the warehouse that will fill them) that no warehouse has now.
    pub short: Vec<(String, i64, Option<Uuid>)>,
}

/// Sums an order's lines per SKU (two lines of one SKU are one demand: a bundle cannot oversell).
pub fn demand(lines: &[(String, i64)]) -> Vec<(String, i64)> {
    let mut by_sku: BTreeMap<String, i64> = BTreeMap::new();
    for (sku, q) in lines {
        *by_sku.entry(sku.clone()).or_default() += q;
    }
    by_sku.into_iter().filter(|(_, q)| *q > 0).collect()
}

/// Allocates `demand` (summed per SKU): the best-ranked warehouse that can ship the whole order
/// (internal before 3PL unless `internal_first` is off, then the nearest to the destination, then
/// by priority); split across warehouses in that order only when no single one can fill it; what
/// none has is short (to be filled by the best-ranked warehouse that stocks the SKU).
pub fn allocate(
    demand: &[(String, i64)],
    mut candidates: Vec<Candidate>,
    internal_first: bool,
) -> Allocation {
    candidates.sort_by(|a, b| {
        let kind = |c: &Candidate| if internal_first { !c.internal } else { false };
        (kind(a), a.rank.unwrap_or(usize::MAX), a.priority, &a.code).cmp(&(
            kind(b),
            b.rank.unwrap_or(usize::MAX),
            b.priority,
            &b.code,
        ))
    });
    let has = |c: &Candidate, sku: &str| c.available.get(sku).copied().unwrap_or(0);
    if let Some(whole) = candidates.iter().find(|c| demand.iter().all(|(sku, q)| has(c, sku) >= *q)) {
        return Allocation {
            picks: demand.iter().map(|(sku, q)| (whole.warehouse_id, sku.clone(), *q)).collect(),
            short: Vec::new(),
        };
    }
    let mut out = Allocation::default();
    for (sku, q) in demand {
        let mut left = *q;
        for c in &candidates {
            let take = has(c, sku).min(left);
            if take > 0 {
                out.picks.push((c.warehouse_id, sku.clone(), take));
                left -= take;
            }
        }
        if left > 0 {
            let filler = candidates.iter().find(|c| c.available.contains_key(sku)).or(candidates.first());
            out.short.push((sku.clone(), left, filler.map(|c| c.warehouse_id)));
        }
    }
    out
}

/// Why on-hand stock was adjusted (`POST /api/v1/inventory/adjust`).
pub const ADJUSTMENT_REASONS: &[&str] =
    &["cycle_count", "damaged", "expired", "lost", "found", "returned", "correction"];

/// Below or at this many available units a level without its own reorder point is low.
pub const DEFAULT_LOW_STOCK: i64 = 5;

/// A warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Warehouse {
    pub id: Uuid,
    /// The platform or the marketplace vendor whose stock it keeps.
    pub owner_tenant_id: Uuid,
    pub code: String,
    pub name: String,
    /// `internal` or `3pl`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub address: serde_json::Value,
    pub priority: i32,
    pub active: bool,
    /// Destination states it serves, nearest first.
    pub zones: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change to a warehouse: any of its name, address, priority, zones or active flag.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehousePatch {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub address: Option<serde_json::Value>,
    pub priority: Option<i32>,
    pub zones: Option<Vec<String>>,
    pub active: Option<bool>,
}

impl WarehousePatch {
    /// `before` with this patch applied, checked as a new warehouse is (every problem at once).
    pub fn apply(&self, before: &Warehouse) -> Result<Warehouse, Error> {
        let mut after = before.clone();
        if let Some(n) = &self.name {
            after.name = n.trim().to_owned();
        }
        if let Some(a) = &self.address {
            after.address = a.clone();
        }
        if let Some(p) = self.priority {
            after.priority = p;
        }
        if let Some(z) = &self.zones {
            after.zones = z.clone();
        }
        if let Some(a) = self.active {
            after.active = a;
        }
        NewWarehouse {
            code: after.code.clone(),
            name: after.name.clone(),
            kind: after.kind.clone(),
            address: after.address.clone(),
            priority: after.priority,
            zones: after.zones.clone(),
        }
        .check()?;
        Ok(after)
    }
}

/// Stock arriving at a warehouse (`POST /api/v1/inventory/receive`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub warehouse_id: Uuid,
    pub platform_sku: String,
    /// Units received, 1 to 1,000,000.
    pub quantity: i64,
    /// The supplier's document (purchase order, packing slip).
    pub reference: Option<String>,
    pub note: Option<String>,
}

/// A counted correction of on-hand stock (`POST /api/v1/inventory/adjust`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    pub warehouse_id: Uuid,
    pub platform_sku: String,
    /// Units added (positive) or taken away (negative); never zero.
    pub quantity: i64,
    /// cycle_count, damaged, expired, lost, found, returned or correction.
    pub reason: String,
    pub note: Option<String>,
    /// A new reorder point for the level (low-stock alerts at or below it).
    pub reorder_point: Option<i64>,
}

fn check_sku(sku: &str, errors: &mut Vec<FieldError>) {
    if sku.is_empty() || sku.len() > 100 || sku.trim() != sku {
        errors.push(FieldError::new("platform_sku", "invalid", "1 to 100 characters, no surrounding spaces"));
    }
}

fn check_note(field: &str, note: Option<&str>, errors: &mut Vec<FieldError>) {
    if note.is_some_and(|n| n.chars().count() > 1000) {
        errors.push(FieldError::new(field, "too_long", "at most 1000 characters"));
    }
}

impl Receipt {
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        check_sku(&self.platform_sku, &mut errors);
        if !(1..=1_000_000).contains(&self.quantity) {
            errors.push(FieldError::new("quantity", "out_of_range", "1 to 1000000"));
        }
        if self.reference.as_deref().is_some_and(|r| r.trim().is_empty() || r.chars().count() > 100) {
            errors.push(FieldError::new("reference", "invalid", "1 to 100 characters"));
        }
        check_note("note", self.note.as_deref(), &mut errors);
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }

    /// The ledger row's note: the reference, then the note.
    pub fn ledger_note(&self) -> Option<String> {
        match (&self.reference, &self.note) {
            (Some(r), Some(n)) => Some(format!("{r}: {n}")),
            (Some(r), None) => Some(r.clone()),
            (None, n) => n.clone(),
        }
    }
}

impl Adjustment {
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        check_sku(&self.platform_sku, &mut errors);
        if self.quantity == 0 && self.reorder_point.is_none() {
            errors.push(FieldError::new("quantity", "invalid", "not zero (or set a reorder_point)"));
        }
        if !(-1_000_000..=1_000_000).contains(&self.quantity) {
            errors.push(FieldError::new("quantity", "out_of_range", "-1000000 to 1000000"));
        }
        if !ADJUSTMENT_REASONS.contains(&self.reason.as_str()) {
            errors.push(FieldError::new("reason", "invalid", ADJUSTMENT_REASONS.join(", ")));
        }
        if self.reorder_point.is_some_and(|r| !(0..=1_000_000).contains(&r)) {
            errors.push(FieldError::new("reorder_point", "out_of_range", "0 to 1000000"));
        }
        check_note("note", self.note.as_deref(), &mut errors);
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }
}

/// A level as the API shows it: with its warehouse, reorder point and whether it is low.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LevelView {
    pub id: Uuid,
    pub warehouse_code: String,
    #[serde(flatten)]
    pub level: Level,
    pub reorder_point: Option<i64>,
    /// Available at or below the reorder point (or 5 units without one).
    pub low: bool,
    pub updated_at: DateTime<Utc>,
}

/// Filters of `GET /api/v1/inventory`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LevelFilter {
    pub platform_sku: Option<String>,
    pub warehouse_id: Option<Uuid>,
    /// Only levels at or below their reorder point.
    pub low: Option<bool>,
}

/// One row of the movement ledger.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MovementView {
    pub id: Uuid,
    pub warehouse_id: Uuid,
    pub platform_sku: String,
    /// received, an adjustment reason, reserved, backordered, backorder_filled, released,
    /// backorder_cancelled, committed or shipped.
    pub reason: String,
    pub note: Option<String>,
    /// `user`, `api_key`, `system` — or `order` when another tenant's order moved the owner's
    /// stock (its order, reservation, actor and note are that tenant's, and not shown).
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub reservation_id: Option<Uuid>,
    pub on_hand: i64,
    pub reserved: i64,
    pub committed: i64,
    pub backordered: i64,
    pub at: DateTime<Utc>,
}

/// Filters of `GET /api/v1/inventory/movements`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovementFilter {
    pub platform_sku: Option<String>,
    pub warehouse_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub reason: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// An order's units held at a warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReservationView {
    pub id: Uuid,
    pub warehouse_id: Uuid,
    pub platform_sku: String,
    pub quantity: i64,
    /// reserved, committed, shipped or released.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Units an order waits for.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BackorderView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub platform_sku: String,
    /// The warehouse that will fill it (none when no warehouse stocks the SKU yet).
    pub warehouse_id: Option<Uuid>,
    pub quantity: i64,
    /// open, filled or cancelled.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub filled_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/orders/{id}/reservations`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OrderStock {
    pub order_id: Uuid,
    pub reservations: Vec<ReservationView>,
    pub backorders: Vec<BackorderView>,
}

/// What stock needs a person: low levels and open backorders.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Alerts {
    /// Levels at or below their reorder point (the owner's).
    pub low_stock: Vec<LevelView>,
    /// Open backorders of the acting tenant's orders, oldest first.
    pub backorders: Vec<BackorderView>,
}

/// What a tenant may know of stock it sells but does not own.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Availability {
    pub platform_sku: String,
    /// Units available across active warehouses.
    pub available: i64,
}

/// Query of `GET /api/v1/inventory/forecast`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// One SKU (default: every SKU with stock or demand).
    pub platform_sku: Option<String>,
    /// Days of history read (7 to 365, default 90).
    pub history_days: Option<i64>,
    /// Days from ordering to stock on the shelf (1 to 180, default 14).
    pub lead_time_days: Option<i64>,
    /// Days of demand a reorder covers beyond the lead time (1 to 365, default 30).
    pub cover_days: Option<i64>,
    /// Smoothing factor, 0.01 to 1 (default 0.3).
    pub alpha: Option<f64>,
    /// Units kept against surprises (default: 1.65 × the deviation of daily demand × √lead time,
    /// a 95% service level).
    pub safety_stock: Option<i64>,
}

/// The forecast's settings, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastSettings {
    pub history_days: i64,
    pub lead_time_days: i64,
    pub cover_days: i64,
    pub alpha: f64,
    pub safety_stock: Option<i64>,
}

impl ForecastQuery {
    pub fn check(&self) -> Result<ForecastSettings, Error> {
        let mut errors = Vec::new();
        let mut range = |name: &str, v: Option<i64>, lo: i64, hi: i64, d: i64| {
            let v = v.unwrap_or(d);
            if !(lo..=hi).contains(&v) {
                errors.push(FieldError::new(
                    format!("query:{name}"),
                    "out_of_range",
                    format!("{lo} to {hi}"),
                ));
            }
            v
        };
        let history_days = range("history_days", self.history_days, 7, 365, 90);
        let lead_time_days = range("lead_time_days", self.lead_time_days, 1, 180, 14);
        let cover_days = range("cover_days", self.cover_days, 1, 365, 30);
        let alpha = self.alpha.unwrap_or(0.3);
        if !(0.01..=1.0).contains(&alpha) {
            errors.push(FieldError::new("query:alpha", "out_of_range", "0.01 to 1"));
        }
        if self.safety_stock.is_some_and(|s| !(0..=1_000_000_000).contains(&s)) {
            errors.push(FieldError::new("query:safety_stock", "out_of_range", "0 to 1000000000"));
        }
        if errors.is_empty() {
            Ok(ForecastSettings {
                history_days,
                lead_time_days,
                cover_days,
                alpha,
                safety_stock: self.safety_stock,
            })
        } else {
            Err(Error::Invalid(errors))
        }
    }
}

/// The forecast of one SKU.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Forecast {
    pub platform_sku: String,
    pub on_hand: i64,
    pub available: i64,
    /// Units ordered per day in the history (reserved or backordered), oldest first.
    pub history: Vec<i64>,
    /// Smoothed demand, units per day.
    pub daily_demand: f64,
    pub lead_time_days: i64,
    /// As asked, or for a 95% service level: 1.65 × the deviation of daily demand × √lead time.
    pub safety_stock: i64,
    /// Demand over the lead time plus safety stock: order when available reaches it.
    pub reorder_point: i64,
    /// Enough for the lead time and the cover days, plus safety stock, less what is available.
    pub suggested_reorder_quantity: i64,
    /// When available will reach the reorder point at the forecast demand (today if it has);
    /// none without demand.
    pub suggested_reorder_date: Option<NaiveDate>,
}

/// Simple exponential smoothing of `history` (units per day, oldest first) and what to reorder.
pub fn forecast(
    platform_sku: &str,
    history: &[i64],
    on_hand: i64,
    available: i64,
    s: ForecastSettings,
    today: NaiveDate,
) -> Forecast {
    let mut level = history.first().copied().unwrap_or(0) as f64;
    for &d in history.iter().skip(1) {
        level = s.alpha * d as f64 + (1.0 - s.alpha) * level;
    }
    let n = history.len().max(1) as f64;
    let mean = history.iter().sum::<i64>() as f64 / n;
    let var = history.iter().map(|&d| (d as f64 - mean).powi(2)).sum::<f64>() / n;
    let lead = s.lead_time_days as f64;
    let safety_stock = s.safety_stock.unwrap_or_else(|| (1.65 * var.sqrt() * lead.sqrt()).ceil() as i64);
    let reorder_point = (level * lead).ceil() as i64 + safety_stock;
    let want = (level * (lead + s.cover_days as f64)).ceil() as i64 + safety_stock;
    let suggested_reorder_quantity = (want - available).max(0);
    let suggested_reorder_date = (level > 0.0).then(|| {
        let days = ((available - reorder_point) as f64 / level).floor().max(0.0) as i64;
        today + chrono::Duration::days(days)
    });
    Forecast {
        platform_sku: platform_sku.to_owned(),
        on_hand,
        available,
        history: history.to_vec(),
        daily_demand: (level * 100.0).round() / 100.0,
        lead_time_days: s.lead_time_days,
        safety_stock,
        reorder_point,
        suggested_reorder_quantity,
        suggested_reorder_date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wh(n: u128, internal: bool, rank: Option<usize>, priority: i32, stock: &[(&str, i64)]) -> Candidate {
        Candidate {
            warehouse_id: Uuid::from_u128(n),
            internal,
            rank,
            priority,
            code: format!("W{n}"),
            available: stock.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect(),
        }
    }

    #[test]
    fn demand_is_summed_per_sku() {
        let d = demand(&[("A".into(), 2), ("B".into(), 1), ("A".into(), 3)]);
        assert_eq!(d, [("A".to_owned(), 5), ("B".to_owned(), 1)]);
    }

    #[test]
    fn the_nearest_warehouse_that_can_ship_everything_wins_then_splits_then_short() {
        let near_small = wh(1, true, Some(0), 100, &[("A", 2), ("B", 5)]);
        let far_big = wh(2, true, Some(3), 100, &[("A", 9), ("B", 9)]);
        let tpl = wh(3, false, Some(0), 1, &[("A", 9), ("B", 9)]);
        let d = demand(&[("A".into(), 3), ("B".into(), 1)]);
        // Internal first: the far internal one ships it all (the near one cannot).
        let a = allocate(&d, vec![near_small.clone(), far_big.clone(), tpl.clone()], true);
        assert_eq!(a.picks, [(Uuid::from_u128(2), "A".into(), 3), (Uuid::from_u128(2), "B".into(), 1)]);
        // Without that rule, the nearest (the 3PL, rank 0, priority 1) does.
        let a = allocate(&d, vec![near_small.clone(), far_big, tpl], false);
        assert_eq!(a.picks[0].0, Uuid::from_u128(3));
        // No single one can: split in rank order, the rest short.
        let d = demand(&[("A".into(), 4)]);
        let a = allocate(&d, vec![near_small, wh(4, true, Some(1), 100, &[("A", 1)])], true);
        assert_eq!(a.picks, [(Uuid::from_u128(1), "A".into(), 2), (Uuid::from_u128(4), "A".into(), 1)]);
        assert_eq!(a.short, [("A".to_owned(), 1, Some(Uuid::from_u128(1)))]);
    }

    #[test]
    fn forecast_smooths_demand_and_says_when_and_how_much_to_reorder() {
        let s = ForecastSettings {
            history_days: 10,
            lead_time_days: 4,
            cover_days: 10,
            alpha: 0.5,
            safety_stock: None,
        };
        let today = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
        // Steady 2 a day: level 2, no deviation.
        let f = forecast("A", &[2; 10], 50, 40, s, today);
        assert_eq!((f.daily_demand, f.safety_stock, f.reorder_point), (2.0, 0, 8));
        assert_eq!(f.suggested_reorder_quantity, 0, "40 available covers 14 days of 2");
        assert_eq!(f.suggested_reorder_date, Some(today + chrono::Duration::days(16)));
        // Rising demand weighs the recent days; a shortfall is reordered today.
        let f = forecast("A", &[0, 0, 0, 0, 0, 0, 0, 0, 4, 8], 3, 3, s, today);
        assert_eq!(f.daily_demand, 5.0);
        assert!(f.safety_stock > 0);
        assert_eq!(f.suggested_reorder_date, Some(today));
        assert_eq!(f.suggested_reorder_quantity, 5 * 14 + f.safety_stock - 3);
        // No demand: nothing to reorder, no date.
        let f = forecast("A", &[0; 10], 0, 0, s, today);
        assert_eq!((f.suggested_reorder_quantity, f.suggested_reorder_date), (0, None));
    }
}
