//! The orders context: one intake pipeline for every channel (`service::intake`), the order model
//! and its state machine (`model`), the order events, the channel adapters (Shopify, WooCommerce)
//! and the order APIs.
//!
//! Nothing outside orders calls into it today; the registry names its handlers and consumers.

pub mod api;
pub mod consumers;
pub mod events;
pub mod model;
mod service;
mod store;

pub use model::{
    Address, Customer, InvalidTransition, LineInput, Order, OrderEventType, OrderInput, OrderStatus, Origin,
    Payment, transition,
};
