//! What an operator may change on an order (`PATCH /api/v1/orders/{id}`): addresses, notes, and the
//! actions hold, release and cancel (the state machine in [`super::orders`] decides where they may
//! happen).

use serde::Deserialize;
use utoipa::ToSchema;

use super::{Address, Error};

/// An operator's change to an order (`PATCH /api/v1/orders/{id}`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPatch {
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub notes: Option<String>,
    /// `hold`, `release` or `cancel`.
    pub action: Option<String>,
    /// Why (kept in the status history).
    pub reason: Option<String>,
}

impl OrderPatch {
    /// The reason given, or "by an operator".
    pub fn reason(&self) -> &str {
        self.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).unwrap_or("by an operator")
    }
}

/// What an operator may do to an order through `PATCH /api/v1/orders/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Hold,
    Release,
    Cancel,
}

impl Action {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "hold" => Ok(Self::Hold),
            "release" => Ok(Self::Release),
            "cancel" => Ok(Self::Cancel),
            _ => Err(Error::field("action", "invalid", "hold, release or cancel")),
        }
    }

    /// The word a refusal uses: "an order in shipped cannot be cancelled".
    pub fn done(self) -> &'static str {
        match self {
            Self::Hold => "held",
            Self::Release => "released",
            Self::Cancel => "cancelled",
        }
    }
}
