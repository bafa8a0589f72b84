//! The platform layer: configuration, secrets, clock, telemetry, the error model, HTTP plumbing,
//! Postgres, AWS clients and the OpenAPI description. Every context builds on it.

pub mod audit;
pub mod aws;
pub mod breaker;
pub mod capability;
pub mod clock;
pub mod config;
pub mod consumer;
pub mod crypto;
pub mod db;
pub mod error;
pub mod events;
pub mod exceptions;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod openapi;
pub mod outbound;
pub mod pagination;
pub mod rate_limit;
pub mod secrets;
pub mod state;
pub mod telemetry;
pub mod tenant;
pub mod validate;
