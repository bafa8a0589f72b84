//! What a sweep found.

use serde::Serialize;

/// One run of the stuck-order sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Orders past their state's limit.
    pub stuck: u32,
    /// Of those, exceptions raised now (the rest were open already).
    pub raised: u32,
    /// Levels that differ from their ledger.
    pub ledger_mismatches: u32,
    /// Of those, exceptions raised now.
    pub ledger_raised: u32,
}

/// The sweep's failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Store(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Db(#[from] crate::platform::db::DbError),
    #[error(transparent)]
    Orders(#[from] crate::orders::Error),
    #[error(transparent)]
    Inventory(#[from] crate::inventory::Error),
    #[error("events: {0}")]
    Events(String),
}
