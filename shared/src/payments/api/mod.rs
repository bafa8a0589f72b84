//! The payments context's routes: handlers extract, call the service, and map the answer. A
//! [`Error`] becomes a problem here and nowhere else.

pub mod accounts;
pub mod methods;

use crate::payments::model::Error;
use crate::platform::error::ApiError;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(errors) => ApiError::Validation(errors),
            Error::NotFound(what) => ApiError::NotFound(what),
            Error::Conflict { code, detail } => ApiError::Conflict { code, detail },
            Error::Config(cause) => ApiError::internal(cause),
            Error::Store(e) => e.into(),
        }
    }
}
