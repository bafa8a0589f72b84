//! Identity's HTTP handlers, one file per area. They extract, call the service, commit, and map
//! [`super::model::Error`] to the HTTP answer ([`problem`]).

pub mod api_keys;
pub mod audit_log;
pub mod login;
pub mod mfa;
mod principal;
mod problem;
pub mod recovery;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod tenants;
pub mod users;
