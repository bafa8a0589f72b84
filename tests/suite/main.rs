//! Integration and end-to-end tests: real Postgres, the moto AWS emulator through the real SDK, and
//! the real binaries. `scripts/test` starts those services and exports where they are; run the
//! suite through it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sandboxes;
mod sso;
mod support;
mod world;

mod api_keys;
mod architecture;
mod auth;
mod capabilities;
mod catalog;
mod charges;
mod config_and_secrets;
mod events;
mod health;
mod identity_db;
mod inventory;
mod isolation;
mod mfa;
mod migrations;
mod openapi;
mod operations;
mod orders;
mod outbox_and_queues;
mod payments;
mod pipeline;
mod problem_json;
mod rate_limits;
mod runner;
mod runtime_api;
mod tenancy_rls;
mod topology;
mod users_admin;
