//! Identity's rules, one file per area: functions over a transaction (or the state) and model
//! types, answering [`super::model::Error`].

pub(crate) mod login;
pub(crate) mod memberships;
pub(crate) mod recovery;
pub(crate) mod sessions;
pub(crate) mod sso;
pub(crate) mod users;
