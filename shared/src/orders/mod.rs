//! The orders context: one intake pipeline for every channel (`service::intake`), the order model
//! and its state machine (`model`), the order events, the channel adapters (`shopify`,
//! `woocommerce`: a webhook's signature header, topics, identity and payload), channels and
//! field-mapping profiles, customer approvals, and the order APIs.
//!
//! Shape: `model` (parsed types, pure rules, [`Error`]), `service` (rules over a transaction),
//! `store` (every SQL string), `api` (handlers: extract, call, map), `events`, `consumers`, and a
//! folder per channel adapter (`mod.rs` the adapter, `wire.rs` its payload).
//!
//! Nothing outside orders calls into it today; the registry names its handlers and consumers.

pub mod api;
pub mod consumers;
pub mod events;
mod model;
mod service;
mod shopify;
mod store;
mod woocommerce;

pub use events::OrderEvent;
pub use model::{
    Address, Customer, Error, FIELD_ALIASES, InvalidTransition, LineInput, Order, OrderEventType, OrderInput,
    OrderStatus, Origin, Payment, STUCK, transition,
};
pub use service::channels::retry as retry_refused_delivery;
pub use service::channels::{seal_secret, sign};
pub use service::orders::{find as find_order, redrive};
pub use service::payment::{
    AWAITING_PAYMENT, Failure as PaymentFailure, PaymentOnFile, payment_decided, payment_on_file,
    use_payment_method,
};
pub use service::stock::{
    StockDemand, Stuck, advance, order_exists, record_undo, stock_demand, stuck_orders,
};
