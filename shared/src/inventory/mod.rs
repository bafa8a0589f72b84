//! The inventory context: warehouses, stock per platform SKU and warehouse, the movement ledger
//! every change is a row of, and the reservation step of the order pipeline (`inventory-reserve`).
//!
//! Shape: `model` (levels, allocation, [`Error`]), `service` (the reservation transaction),
//! `store` (every SQL string), `consumers`.
//!
//! Work in progress (issue 19): the stock model, the ledger, atomic reservations with allocation
//! and the reservation step; not yet the APIs, alerts, forecast, backorder filling or benchmark.

pub mod consumers;
mod model;
mod service;
mod store;

pub use model::{Allocation, Candidate, Error, Level, NewWarehouse, allocate, demand};
pub use service::{Reservation, create_warehouse, ledger_mismatches, receive, reserve_order};
