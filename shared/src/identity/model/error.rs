//! The identity context's error, in domain terms. `api` maps it to the HTTP answer (and only
//! there).

use crate::platform::crypto::CryptoError;
use crate::platform::db::DbError;
use crate::platform::error::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Fields of the request are invalid.
    #[error("invalid: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String },
    /// The caller is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The caller could not be authenticated (a sign-in that failed, a spent or foreign state).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The email or the password is wrong (one answer for both).
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    /// Too many failed sign-ins: locked for this long.
    #[error("too many failed attempts; try again in {retry_after_seconds} s")]
    Locked { retry_after_seconds: u64 },
    /// The second-factor code is wrong.
    #[error("the second-factor code is wrong")]
    InvalidSecondFactor,
    /// A single-use link or token is invalid, used or expired.
    #[error("the token is invalid, used or expired")]
    InvalidToken,
    /// The identity provider failed the sign-in (or could not be reached).
    #[error(transparent)]
    Provider(#[from] crate::identity::openid::Error),
    #[error(transparent)]
    Store(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Recording an event in the outbox failed.
    #[error(transparent)]
    Event(#[from] crate::platform::events::EventError),
    /// A broken invariant (never the caller's fault).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}
