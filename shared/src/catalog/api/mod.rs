//! The catalog's HTTP handlers, one file per area: each extracts, opens the transaction, calls
//! the service, records the audit entry, commits, publishes, and maps the answer. A catalog
//! [`Error`] becomes an [`ApiError`] here and nowhere else.

pub mod items;
pub mod mappings;
pub mod pricing;
pub mod products;
pub mod promotions;

use super::model::{Error, Writer};
use crate::identity::Principal;
use crate::platform::error::ApiError;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(errors) => ApiError::Validation(errors),
            Error::Malformed(detail) => ApiError::MalformedBody(detail),
            Error::NotFound(what) => ApiError::NotFound(what),
            Error::Conflict { code, detail } => ApiError::Conflict { code, detail },
            Error::Forbidden(why) => ApiError::Forbidden(why),
            Error::Store(e) => e.into(),
            Error::Events(e) => e.into(),
            Error::Internal(cause) => ApiError::internal(cause),
        }
    }
}

/// The acting principal as the store records a writer.
fn writer(p: &Principal) -> Writer {
    Writer { tenant: p.tenant, user: p.user_id, now: p.now }
}
