//! The inventory context: warehouses, stock per platform SKU and warehouse, the movement ledger
//! every change is a row of, reservations and backorders of orders, alerts and the forecast, and
//! the reservation step of the order pipeline (`inventory-reserve`).
//!
//! Shape: `model` (levels, allocation, the forecast, [`Error`]), `service` (the transactions),
//! `store` (every SQL string), `api` (the routes), `events`, `consumers` (the queue steps).

pub mod api;
pub mod consumers;
mod events;
mod model;
mod service;
mod store;

pub use events::{LowStock, StockBackordered};
pub use model::{
    Adjustment, Alerts, Allocation, Candidate, Error, Forecast, Level, LevelView, MovementView, NewWarehouse,
    OrderStock, Receipt, Warehouse, allocate, demand, forecast,
};
pub use service::{
    Reservation, commit_order, fill_backorders, fill_order, ledger_mismatches, record_history, release_order,
    reserve_order, ship_order,
};
