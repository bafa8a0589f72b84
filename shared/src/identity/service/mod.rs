//! Identity's rules, one file per area: functions over a transaction (or the state) and model
//! types, answering [`super::model::Error`].

pub(crate) mod api_keys;
pub mod keys;
pub(crate) mod login;
pub(crate) mod memberships;
pub(crate) mod mfa;
pub(crate) mod recovery;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod sso;
pub(crate) mod tenants;
pub(crate) mod users;
