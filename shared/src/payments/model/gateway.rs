//! What a payment gateway is to the rest of the gateway: one trait, [`Gateway`], with exactly two
//! implementations (`payments::nmi`, `payments::authorize_net`). Clients are stateless: they
//! build requests, read answers and classify them; they never touch the database.
//!
//! Card data cannot enter: a [`PaymentSource`] is a gateway token or a vault credential, and no
//! type here can hold a card number or a CVV.

use std::fmt;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::Money;

/// The two gateways.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GatewayKind {
    Nmi,
    AuthorizeNet,
}

impl GatewayKind {
    pub const ALL: [GatewayKind; 2] = [Self::Nmi, Self::AuthorizeNet];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nmi => "nmi",
            Self::AuthorizeNet => "authorize_net",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for GatewayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A single-use token from a gateway's own browser tokenization (NMI Collect.js `payment_token`,
/// Authorize.net Accept.js `opaqueData.dataValue`): about fifteen minutes of life, one use, a
/// secret while it lives. Never stored.
#[derive(Clone)]
pub struct OneTimeToken(SecretString);

impl OneTimeToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(SecretString::from(token.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeToken(****)")
    }
}

/// What a charge is paid with at one gateway: that gateway's one-time token, or the reusable
/// credential its vault holds.
#[derive(Debug, Clone)]
pub enum PaymentSource {
    /// NMI: `payment_token`.
    NmiToken(OneTimeToken),
    /// NMI: `customer_vault_id`.
    NmiVault { customer_vault_id: String },
    /// Authorize.net: `payment.opaqueData` (`COMMON.ACCEPT.INAPP.PAYMENT`).
    AuthorizeNetOpaque(OneTimeToken),
    /// Authorize.net: a customer profile and one of its payment profiles.
    AuthorizeNetProfile { customer_profile_id: String, payment_profile_id: String },
}

impl PaymentSource {
    /// The gateway this source can pay at.
    pub fn gateway(&self) -> GatewayKind {
        match self {
            Self::NmiToken(_) | Self::NmiVault { .. } => GatewayKind::Nmi,
            Self::AuthorizeNetOpaque(_) | Self::AuthorizeNetProfile { .. } => GatewayKind::AuthorizeNet,
        }
    }
}

/// The billing details a gateway may check (AVS). No card data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Billing {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub line1: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
}

/// One gateway operation.
#[derive(Debug, Clone)]
pub enum Operation {
    /// Authorize and capture at once.
    Sale { source: PaymentSource, amount: Money, billing: Billing },
    /// Authorize only.
    Authorize { source: PaymentSource, amount: Money, billing: Billing },
    /// Capture an authorization, fully or partly (at most its amount).
    Capture { transaction_id: String, amount: Money },
    /// Void an unsettled transaction.
    Void { transaction_id: String },
    /// Refund a settled transaction, fully (`amount` None) or partly. Authorize.net wants the
    /// card's last four (`account_last4`, from the original answer).
    Refund { transaction_id: String, amount: Option<Money>, account_last4: Option<String> },
}

impl Operation {
    /// The currency the operation's amounts are in (a void names none: the account's, USD).
    pub fn currency(&self) -> &str {
        match self {
            Self::Sale { amount, .. } | Self::Authorize { amount, .. } | Self::Capture { amount, .. } => {
                amount.currency()
            }
            Self::Refund { amount: Some(amount), .. } => amount.currency(),
            Self::Refund { amount: None, .. } | Self::Void { .. } => "USD",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Sale { .. } => "sale",
            Self::Authorize { .. } => "authorize",
            Self::Capture { .. } => "capture",
            Self::Void { .. } => "void",
            Self::Refund { .. } => "refund",
        }
    }
}

/// An operation with our reference for it: the attempt's id, sent as NMI `orderid` and as
/// Authorize.net `order.invoiceNumber` (at most 20 characters), by which the attempt is found
/// again when its outcome is unknown.
#[derive(Debug, Clone)]
pub struct Request {
    pub reference: String,
    pub operation: Operation,
}

/// The longest reference both gateways take (Authorize.net's `invoiceNumber` and `refId`).
pub const MAX_REFERENCE: usize = 20;

impl Request {
    /// Why the request cannot be sent at all (a reference too long or not plain ASCII), if so.
    pub fn unsendable(&self) -> Option<Outcome> {
        let r = &self.reference;
        let ok = !r.is_empty()
            && r.len() <= MAX_REFERENCE
            && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        (!ok).then(|| Outcome::NotProcessed {
            why: format!("a reference is 1 to {MAX_REFERENCE} letters, digits, _ or -"),
            answered: false,
        })
    }
}

/// What the gateway said yes with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The gateway's transaction id (none for a vault operation).
    pub transaction_id: Option<String>,
    pub auth_code: Option<String>,
    /// The amount approved when the gateway says (NMI `amount_authorized` on a partial approval).
    pub amount: Option<i64>,
    /// The card's last four and brand, when the answer names them (never more).
    pub last4: Option<String>,
    pub brand: Option<String>,
    /// A vault operation's reusable credential.
    pub vault: Option<VaultCredential>,
}

/// A reusable credential a gateway's vault holds for a customer's payment method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gateway", rename_all = "snake_case")]
pub enum VaultCredential {
    Nmi { customer_vault_id: String },
    AuthorizeNet { customer_profile_id: String, payment_profile_id: String },
}

impl VaultCredential {
    pub fn gateway(&self) -> GatewayKind {
        match self {
            Self::Nmi { .. } => GatewayKind::Nmi,
            Self::AuthorizeNet { .. } => GatewayKind::AuthorizeNet,
        }
    }

    /// As a source to charge.
    pub fn source(&self) -> PaymentSource {
        match self {
            Self::Nmi { customer_vault_id } => {
                PaymentSource::NmiVault { customer_vault_id: customer_vault_id.clone() }
            }
            Self::AuthorizeNet { customer_profile_id, payment_profile_id } => {
                PaymentSource::AuthorizeNetProfile {
                    customer_profile_id: customer_profile_id.clone(),
                    payment_profile_id: payment_profile_id.clone(),
                }
            }
        }
    }
}

/// How every gateway call ends: exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Approved(Approval),
    /// The gateway processed it and said no.
    Declined {
        code: String,
        reason: String,
    },
    /// Certainly not processed (nothing was sent, or the gateway documents the refusal as
    /// happening before processing): safe to try again, here or at the other gateway.
    /// `answered`: the gateway itself refused the request (a dead token, bad credentials, a field
    /// it rejects); false when nothing reached it.
    NotProcessed {
        why: String,
        answered: bool,
    },
    /// It may have been processed: resolved only by asking this gateway, never by trying elsewhere.
    Unknown {
        why: String,
    },
}

impl Outcome {
    pub fn class(&self) -> &'static str {
        match self {
            Self::Approved(_) => "approved",
            Self::Declined { .. } => "declined",
            Self::NotProcessed { .. } => "not_processed",
            Self::Unknown { .. } => "unknown",
        }
    }
}

/// A transaction as the gateway's books show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayTransaction {
    pub id: String,
    /// Our reference (NMI `order_id`, Authorize.net `invoiceNumber`).
    pub reference: Option<String>,
    pub status: TransactionStatus,
    /// Minor units: authorized, captured (settled or not), refunded.
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    pub submitted_at: Option<DateTime<Utc>>,
    pub batch_id: Option<String>,
}

/// One status for both gateways' many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    Authorized,
    Captured,
    Settled,
    Voided,
    Refunded,
    Failed,
    /// Held by the gateway's fraud filter: neither approved nor declined yet.
    Held,
}

/// A lookup that could not be answered (the gateway unreachable or answering nonsense): ask again
/// later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the gateway could not be asked: {why}")]
pub struct Unavailable {
    pub why: String,
}

/// The customer a vault credential is made for.
#[derive(Debug, Clone, Default)]
pub struct VaultCustomer {
    /// Our id for the customer's payment method (sent as the gateway's merchant customer id).
    pub reference: String,
    pub email: Option<String>,
    pub billing: Billing,
}

/// A payment gateway.
pub trait Gateway: Send + Sync {
    fn kind(&self) -> GatewayKind;

    /// Runs one operation; every failure is one of the outcome's classes.
    fn execute<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Outcome>;

    /// Stores a one-time token in the gateway's vault as a reusable credential.
    fn vault<'a>(&'a self, token: &'a OneTimeToken, customer: &'a VaultCustomer) -> BoxFuture<'a, Outcome>;

    /// The transactions carrying our reference (an attempt whose outcome is unknown).
    fn find_by_reference<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Vec<GatewayTransaction>, Unavailable>>;

    /// One transaction by the gateway's id.
    fn find_by_id<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<GatewayTransaction>, Unavailable>>;

    /// Every transaction not yet settled.
    fn unsettled(&self) -> BoxFuture<'_, Result<Vec<GatewayTransaction>, Unavailable>>;

    /// Every transaction settled between `from` and `to`.
    fn settled(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<GatewayTransaction>, Unavailable>>;
}
