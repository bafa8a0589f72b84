//! The catalog's parsed types (rows as structs, checked inputs), its pure rules, and its error
//! type, one file per area. No SQL, no axum.

mod items;
mod mappings;
mod pricing;
mod products;
mod promotions;

pub use items::*;
pub use mappings::*;
pub use pricing::*;
pub use products::*;
pub use promotions::*;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::platform::error::FieldError;
use crate::platform::events::EventError;

/// Why a catalog operation failed, in domain terms (`api` maps it to the HTTP problem).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused input, every problem named.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// A body that cannot be read at all (a CSV without a header row).
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("database: {0}")]
    Store(#[from] tokio_postgres::Error),
    #[error("events: {0}")]
    Events(#[from] EventError),
    /// Something that cannot happen with valid data (a CSV writer failing on a Vec).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// A refusal of one field.
    pub fn field(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

/// Fails with the collected field errors, if any.
pub fn check(errors: Vec<FieldError>) -> Result<(), Error> {
    if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
}

/// Who writes, for which tenant, when (the acting principal, as the store records it).
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    pub tenant: crate::platform::tenant::TenantId,
    pub user: Uuid,
    pub now: DateTime<Utc>,
}
