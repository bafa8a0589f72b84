//! The orders context's routes: handlers extract, call the service, and map the answer. A
//! [`Error`] becomes a problem here and nowhere else.

pub mod approvals;
pub mod channels;
pub mod exceptions;
pub mod orders;
pub mod profiles;

use crate::orders::model::Error;
use crate::platform::error::ApiError;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(errors) => ApiError::Validation(errors),
            Error::Malformed(detail) => ApiError::MalformedBody(detail),
            Error::Unauthenticated(why) => ApiError::Unauthenticated(why),
            Error::Forbidden(why) => ApiError::Forbidden(why),
            Error::NotFound(what) => ApiError::NotFound(what),
            Error::Conflict { code, detail } => ApiError::Conflict { code, detail },
            Error::Catalog(e) => e.into(),
            Error::Store(e) => e.into(),
            Error::Db(e) => e.into(),
            Error::Events(e) => e.into(),
            Error::Crypto(e) => e.into(),
            Error::Internal(cause) => ApiError::internal(cause),
        }
    }
}
