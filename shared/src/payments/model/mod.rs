//! The payments context's types: money on the wire, the gateway seam and its outcomes, merchant
//! accounts, and how a failed HTTP exchange is classed.

mod accounts;
mod gateway;
mod methods;
mod money;
mod payments;

pub use accounts::*;
pub use gateway::*;
pub use methods::*;
pub use money::*;
pub use payments::*;

use crate::FieldError;
use crate::platform::outbound;

/// The payments context's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] tokio_postgres::Error),
    /// No gateway could be asked (every breaker open, no account, the gateway unreachable):
    /// nothing was sent.
    #[error("{0}")]
    Unavailable(String),
    /// The gateway declined the charge.
    #[error("declined: {reason}")]
    Declined { payment_id: uuid::Uuid, code: String, reason: String },
    /// No gateway stored a new payment method (each failure says why): nothing was stored.
    #[error("no gateway could store the payment method")]
    VaultUnavailable(Vec<VaultFailure>),
    #[error("{0}")]
    Internal(String),
}

impl From<crate::platform::db::DbError> for Error {
    fn from(e: crate::platform::db::DbError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<crate::platform::events::EventError> for Error {
    fn from(e: crate::platform::events::EventError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<crate::platform::error::ApiError> for Error {
    fn from(e: crate::platform::error::ApiError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<crate::orders::Error> for Error {
    fn from(e: crate::orders::Error) -> Self {
        match e {
            crate::orders::Error::NotFound(_) => Error::NotFound("the order".into()),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// How an HTTP exchange that produced no readable answer ends. Certainly not processed when the
/// request never left: refused by the outbound guard, a name that did not resolve, no connection
/// (refused, unreachable, TLS handshake), a request that could not be built. Everything after the
/// request may have been written — a timeout, a reset, an answer that broke off, a 5xx, a 408 — is
/// unknown. A 4xx other than 408 is the gateway's front door refusing the request unprocessed.
pub fn transport_outcome(e: &outbound::Error) -> Outcome {
    use outbound::Error as E;
    let not_processed = |why: String| Outcome::NotProcessed { why, answered: false };
    let unknown = |why: String| Outcome::Unknown { why };
    match e {
        E::Refused { .. } | E::Resolve { .. } | E::Connect { .. } | E::Invalid { .. } | E::Setup(_) => {
            not_processed(e.to_string())
        }
        E::Status { status, .. } if status.is_client_error() && status.as_u16() != 408 => {
            not_processed(e.to_string())
        }
        E::Status { .. } | E::Timeout { .. } | E::Body { .. } | E::TooLarge { .. } | E::Request { .. } => {
            unknown(e.to_string())
        }
    }
}

/// Where a gateway is called and how long a call may take.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The provider's base URL (`https://secure.nmi.com`, `https://apitest.authorize.net`, or a
    /// sandbox's `http://127.0.0.1:…` on a local stack).
    pub base_url: String,
    pub connect_timeout: std::time::Duration,
    pub timeout: std::time::Duration,
}

impl Endpoint {
    /// The outbound client with this endpoint's timeouts (a connection pool and TLS set-up: build
    /// it once and share it).
    pub fn client(&self, policy: outbound::Policy) -> Result<outbound::Outbound, String> {
        outbound::Outbound::builder(policy)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .build()
            .map_err(|e| e.to_string())
    }
}
