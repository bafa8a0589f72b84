//! The orders context: one intake pipeline for every channel ([`intake`]), the order model and its
//! state machine, and the order APIs.
//!
//! Work in progress (issue #7): the model, the input every path is translated into, and the
//! pipeline's checks. Channels, profiles, idempotency and the routes follow.

pub mod api;
pub mod approvals;
pub mod channels;
pub mod events;
pub mod exceptions;
pub mod idempotency;
pub mod intake;
pub mod model;
pub mod profiles;
pub mod revalidation;
pub mod store;

pub use model::{
    Address, Customer, InvalidTransition, LineInput, Order, OrderEventType, OrderInput, OrderStatus, Origin,
    Payment, transition,
};
