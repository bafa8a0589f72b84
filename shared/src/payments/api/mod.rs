//! The payments context's routes: handlers extract, call the service, and map the answer. A
//! [`Error`] becomes a problem here and nowhere else.

pub mod accounts;
pub mod methods;
pub mod payments;

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
            Error::Unavailable(why) => ApiError::DependenciesUnavailable {
                failed: vec!["payment_gateways".into()],
                checks: serde_json::json!({"payment_gateways": why}),
            },
            Error::Declined { payment_id, code, reason } => {
                ApiError::PaymentDeclined { payment_id: payment_id.to_string(), decline_code: code, reason }
            }
            Error::VaultUnavailable(not_stored) => ApiError::DependenciesUnavailable {
                failed: not_stored.iter().map(|f| f.gateway.to_string()).collect(),
                checks: serde_json::to_value(&not_stored).unwrap_or_default(),
            },
            Error::Internal(cause) => ApiError::internal(cause),
        }
    }
}
