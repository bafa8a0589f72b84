//! Identity's HTTP handlers, one file per area. They extract, call the service, commit, and map
//! [`super::model::Error`] to the HTTP answer ([`problem`]).

pub mod login;
mod principal;
mod problem;
pub mod recovery;
pub mod sessions;
pub mod sso;
pub mod users;
