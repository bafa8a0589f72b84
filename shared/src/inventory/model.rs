//! Stock and its rules: levels, the allocation of an order's demand across warehouses, and the
//! inventory errors. Pure: no SQL here.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
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
}
