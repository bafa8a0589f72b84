//! The Regen Therapy Gateway domain crate. Every bounded context lives here, over the `platform`
//! layer; the binaries in `functions/` are thin wrappers that pick one entry of [`registry`].

pub mod catalog;
pub mod identity;
pub mod inventory;
pub mod notifications;
pub mod operations;
pub mod orders;
pub mod payments;
pub mod platform;
pub mod registry;

pub use platform::{
    clock::{Clock, ManualClock, OffsetFileClock, SharedClock, SystemClock},
    config::{Config, ConfigError, Env},
    error::{ApiError, FieldError, Problem},
    state::AppState,
};
