//! The orders context's parsed types and pure rules: the order and its state machine
//! ([`orders`]), the values channel payloads carry ([`channels`]), field-mapping profiles
//! ([`profiles`]), customer approvals ([`approvals`]), and the context's [`Error`].

mod addresses;
mod approvals;
mod changes;
mod channels;
mod orders;
mod profiles;

pub use addresses::*;
pub use approvals::*;
pub use changes::*;
pub use channels::*;
pub use orders::*;
pub use profiles::*;

use crate::platform::error::FieldError;

/// What went wrong in the orders context, in its own terms; `api` maps it to a problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused input, every problem named.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// A body that is not JSON at all.
    #[error("malformed: {0}")]
    Malformed(String),
    /// A delivery whose signature does not verify.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String },
    #[error(transparent)]
    Catalog(#[from] crate::catalog::Error),
    #[error("database: {0}")]
    Store(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Db(#[from] crate::platform::db::DbError),
    #[error("events: {0}")]
    Events(#[from] crate::platform::events::EventError),
    #[error("sealing: {0}")]
    Crypto(#[from] crate::platform::crypto::CryptoError),
    /// Something that cannot happen with valid data.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// A refusal of one field.
    pub fn field(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }

    /// Every problem, or nothing.
    pub fn check(errors: Vec<FieldError>) -> Result<(), Self> {
        if errors.is_empty() { Ok(()) } else { Err(Self::Invalid(errors)) }
    }
}

impl From<crate::platform::http::BodyError> for Error {
    fn from(e: crate::platform::http::BodyError) -> Self {
        match e {
            crate::platform::http::BodyError::Malformed(detail) => Self::Malformed(detail),
            crate::platform::http::BodyError::Fields(errors) => Self::Invalid(errors),
        }
    }
}

impl From<InvalidTransition> for Error {
    fn from(e: InvalidTransition) -> Self {
        Self::Conflict { code: "invalid_transition", detail: e.to_string() }
    }
}
