//! Payments and their attempts: what the customer was charged, how, and every gateway call made for
//! it. A payment's status only moves forward ([`PaymentStatus::may_become`]); an attempt is written
//! `attempted` before its call and never sent again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Error, GatewayKind, NewPaymentMethod, Outcome};
use crate::FieldError;

/// Where a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The outcome of a charge is unknown: only asking the gateway decides it.
    Pending,
    Authorized,
    /// Captured, partly or fully (`captured` says how much).
    Captured,
    Voided,
    /// Refunded, partly or fully (`refunded` says how much).
    Refunded,
    Failed,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 6] =
        [Self::Pending, Self::Authorized, Self::Captured, Self::Voided, Self::Refunded, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Authorized => "authorized",
            Self::Captured => "captured",
            Self::Voided => "voided",
            Self::Refunded => "refunded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Statuses are sticky: a payment only moves forward, and voided or failed never move (a
    /// late answer, a query or a retry cannot undo them). Only a pending charge fails; only an
    /// authorization is voided; captured stays captured as more is captured, refunded stays
    /// refunded as more is refunded.
    pub fn may_become(self, to: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, to),
            (Pending, Authorized | Captured | Failed)
                | (Authorized, Captured | Voided)
                | (Captured, Captured | Refunded)
                | (Refunded, Refunded)
        )
    }

    /// The event a payment entering this status publishes.
    pub fn event(self) -> Option<&'static str> {
        match self {
            Self::Pending => None,
            Self::Authorized => Some("payment.authorized"),
            Self::Captured => Some("payment.captured"),
            Self::Voided => Some("payment.voided"),
            Self::Refunded => Some("payment.refunded"),
            Self::Failed => Some("payment.failed"),
        }
    }
}

impl std::fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gateway operation of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOperation {
    Sale,
    Authorize,
    Capture,
    Void,
    Refund,
}

impl AttemptOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Authorize => "authorize",
            Self::Capture => "capture",
            Self::Void => "void",
            Self::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sale, Self::Authorize, Self::Capture, Self::Void, Self::Refund]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    /// Whether it makes the charge (a first attempt, possibly at the backup gateway).
    pub fn charges(self) -> bool {
        matches!(self, Self::Sale | Self::Authorize)
    }
}

/// Where an attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// A refund waiting for its capture to settle; not sent yet.
    Queued,
    /// Written before its call; the call may or may not have reached the gateway.
    Attempted,
    Approved,
    Declined,
    /// Certainly not processed (refused before the gateway, or by it unprocessed).
    NotProcessed,
    /// The call's outcome is unknown: only asking the gateway decides it.
    Unknown,
}

impl AttemptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Attempted => "attempted",
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::NotProcessed => "not_processed",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Attempted, Self::Approved, Self::Declined, Self::NotProcessed, Self::Unknown]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    /// The status an outcome finishes an attempt with.
    pub fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Approved(_) => Self::Approved,
            Outcome::Declined { .. } => Self::Declined,
            Outcome::NotProcessed { .. } => Self::NotProcessed,
            Outcome::Unknown { .. } => Self::Unknown,
        }
    }

    /// Its outcome is not known yet (written before the call, or the call did not say).
    pub fn open(self) -> bool {
        matches!(self, Self::Attempted | Self::Unknown)
    }
}

/// One gateway call made for a payment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = PaymentAttempt)]
pub struct Attempt {
    pub id: Uuid,
    pub operation: AttemptOperation,
    pub gateway: GatewayKind,
    pub merchant_account_id: Uuid,
    /// Minor units.
    pub amount: i64,
    /// Our reference at the gateway (NMI `orderid`, Authorize.net `invoiceNumber`).
    pub reference: String,
    pub status: AttemptStatus,
    pub transaction_id: Option<String>,
    /// The gateway's code (a decline code, an error code) and reason.
    pub code: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One change of a payment's status.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = PaymentHistoryEntry)]
pub struct HistoryEntry {
    pub from: Option<PaymentStatus>,
    pub to: PaymentStatus,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A payment of an order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = PaymentRecord)]
pub struct Payment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub status: PaymentStatus,
    /// `sale` (authorize and capture) or `authorize` (capture later).
    pub intent: AttemptOperation,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    pub payment_method_id: Option<Uuid>,
    /// `order` (the order's authorization or charge), `shipment` (a later shipment's own sale) or
    /// `reauthorization` (replacing an authorization about to expire).
    pub purpose: String,
    /// The gateway and merchant account holding the charge (once a gateway took it).
    pub gateway: Option<GatewayKind>,
    pub merchant_account_id: Option<Uuid>,
    pub transaction_id: Option<String>,
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    /// Refunds asked for and not done yet (queued until settlement, or in flight).
    pub refund_pending: i64,
    /// What may still be refunded: captured − refunded − `refund_pending`.
    pub refundable: i64,
    pub decline_code: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
}

/// `POST /api/v1/payments/charge`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    pub order_id: Uuid,
    /// Minor units; the order's total when absent. The currency is the order's.
    pub amount: Option<i64>,
    /// Capture at once (default) or authorize only.
    #[serde(default = "yes")]
    pub capture: bool,
    /// A stored payment method of the tenant ...
    pub payment_method_id: Option<Uuid>,
    /// ... or one-time tokens, stored in the gateways' vaults first.
    pub payment_method: Option<NewPaymentMethod>,
}

fn yes() -> bool {
    true
}

impl ChargeRequest {
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        if let Some(a) = self.amount {
            if !(1..=super::MAX_AMOUNT).contains(&a) {
                errors.push(FieldError::new(
                    "amount",
                    "out_of_range",
                    format!("1 to {} minor units", super::MAX_AMOUNT),
                ));
            }
        }
        match (&self.payment_method_id, &self.payment_method) {
            (Some(_), Some(_)) => errors.push(FieldError::new(
                "payment_method",
                "conflict",
                "send either payment_method_id or payment_method, not both",
            )),
            (None, None) => errors.push(FieldError::new(
                "payment_method_id",
                "required",
                "a stored payment method, or payment_method with one-time tokens",
            )),
            _ => {}
        }
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }
}

/// `POST /api/v1/orders/{id}/payment`: a failed order's payment tried again, with a new payment
/// method, or (neither given) the one on file after the customer fixed it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// A stored payment method of the tenant ...
    pub payment_method_id: Option<Uuid>,
    /// ... or one-time tokens, stored in the gateways' vaults first.
    pub payment_method: Option<NewPaymentMethod>,
}

impl RetryRequest {
    pub fn check(&self) -> Result<(), Error> {
        if self.payment_method_id.is_some() && self.payment_method.is_some() {
            return Err(Error::Invalid(vec![FieldError::new(
                "payment_method",
                "conflict",
                "send either payment_method_id or payment_method, not both",
            )]));
        }
        Ok(())
    }
}

/// `POST /api/v1/payments/{id}/capture`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// Minor units; all that is authorized when absent.
    pub amount: Option<i64>,
}

/// `POST /api/v1/payments/refund`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub payment_id: Uuid,
    /// Minor units; all that is refundable when absent.
    pub amount: Option<i64>,
}

/// Filters of `GET /api/v1/payments`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentFilter {
    pub status: Option<String>,
    pub order_id: Option<Uuid>,
    pub gateway: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

impl PaymentFilter {
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        if self.status.as_deref().is_some_and(|s| PaymentStatus::parse(s).is_none()) {
            errors.push(FieldError::new(
                "query:status",
                "invalid",
                "pending, authorized, captured, voided, refunded or failed",
            ));
        }
        if self.gateway.as_deref().is_some_and(|g| GatewayKind::parse(g).is_none()) {
            errors.push(FieldError::new("query:gateway", "invalid", "nmi or authorize_net"));
        }
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }
}

/// An attempt whose outcome is not known yet, as the reconciliation view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OpenAttempt {
    pub tenant_id: Uuid,
    pub payment_id: Uuid,
    #[serde(flatten)]
    pub attempt: Attempt,
    pub age_seconds: i64,
}

/// One breaker, with the account it guards.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BreakerState {
    pub gateway: GatewayKind,
    pub merchant_account_id: Uuid,
    pub merchant_account: String,
    #[serde(flatten)]
    pub breaker: crate::platform::breaker::View,
}

/// A payment whose books disagree with ours (found by asking the gateway).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Discrepancy {
    pub tenant_id: Uuid,
    pub payment_id: Uuid,
    pub kind: String,
    pub detail: String,
    pub found_at: DateTime<Utc>,
}

/// `GET /api/v1/admin/reconciliation`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Reconciliation {
    pub open_attempts: Vec<OpenAttempt>,
    pub queued_refunds: Vec<OpenAttempt>,
    pub discrepancies: Vec<Discrepancy>,
    pub breakers: Vec<BreakerState>,
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus as S;

    #[test]
    fn statuses_never_move_backwards_and_terminal_ones_never_move() {
        assert!(S::Pending.may_become(S::Authorized));
        assert!(S::Pending.may_become(S::Failed));
        assert!(S::Authorized.may_become(S::Captured));
        assert!(S::Authorized.may_become(S::Voided));
        assert!(S::Captured.may_become(S::Captured));
        assert!(S::Captured.may_become(S::Refunded));
        assert!(S::Refunded.may_become(S::Refunded));
        assert!(!S::Captured.may_become(S::Authorized));
        assert!(!S::Authorized.may_become(S::Pending));
        assert!(!S::Refunded.may_become(S::Captured));
        assert!(!S::Authorized.may_become(S::Failed) && !S::Captured.may_become(S::Failed));
        assert!(!S::Captured.may_become(S::Voided) && !S::Refunded.may_become(S::Voided));
        for to in S::ALL {
            assert!(!S::Voided.may_become(to) && !S::Failed.may_become(to), "{to}");
        }
    }
}
