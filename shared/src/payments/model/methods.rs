//! A customer's reusable payment method: one-time tokens (single use, about fifteen minutes of
//! life) are turned into the gateways' vault credentials when the method is made, so an order
//! that waits days (review, backorder) or must move to the second gateway can still be charged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Billing, Error, GatewayKind, VaultCredential};
use crate::FieldError;

/// The one-time tokens a customer's browser got from each gateway's tokenization (NMI Collect.js,
/// Authorize.net Accept.js). Either or both; a method with a credential at one gateway only
/// cannot fail over.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    /// NMI `payment_token`.
    pub nmi: Option<String>,
    /// Authorize.net `opaqueData.dataValue` (`COMMON.ACCEPT.INAPP.PAYMENT`).
    pub authorize_net: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentMethod {
    pub customer_email: String,
    pub tokens: Tokens,
    /// As the tokenization answered: the card's brand and last four, and its expiry.
    pub brand: Option<String>,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    /// The billing address the gateways check (its email defaults to `customer_email`).
    #[serde(default)]
    pub billing: Billing,
}

impl NewPaymentMethod {
    /// Every problem at once; the tokens to vault, by gateway.
    pub fn check(&self, today: DateTime<Utc>) -> Result<Vec<(GatewayKind, String)>, Error> {
        use chrono::Datelike;
        let mut errors = Vec::new();
        let email = self.customer_email.trim();
        if email.len() < 3 || email.len() > 254 || !email.contains('@') {
            errors.push(FieldError::new("customer_email", "invalid", "an email address"));
        }
        if self.last4.len() != 4 || !self.last4.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(FieldError::new("last4", "invalid", "the card's last four digits"));
        }
        if !(1..=12).contains(&self.exp_month) {
            errors.push(FieldError::new("exp_month", "out_of_range", "1 to 12"));
        }
        let expired = (self.exp_year, self.exp_month) < (today.year(), today.month() as i32);
        if !(2000..=2100).contains(&self.exp_year) || expired {
            errors.push(FieldError::new(
                "exp_year",
                "expired",
                "the card's expiry is in the past or out of range",
            ));
        }
        if self.brand.as_deref().is_some_and(|b| b.trim().is_empty() || b.len() > 30) {
            errors.push(FieldError::new("brand", "invalid", "1 to 30 characters"));
        }
        // The gateways' own limits (Authorize.net's are the tighter): refused here, not by them.
        let b = &self.billing;
        for (field, value, max) in [
            ("first_name", &b.first_name, 50),
            ("last_name", &b.last_name, 50),
            ("line1", &b.line1, 60),
            ("city", &b.city, 40),
            ("state", &b.state, 40),
            ("postal_code", &b.postal_code, 20),
            ("country", &b.country, 60),
            ("email", &b.email, 254),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty() || v.chars().count() > max) {
                errors.push(FieldError::new(
                    format!("billing.{field}"),
                    "invalid",
                    format!("1 to {max} characters"),
                ));
            }
        }
        let mut tokens = Vec::new();
        for (gateway, token) in
            [(GatewayKind::Nmi, &self.tokens.nmi), (GatewayKind::AuthorizeNet, &self.tokens.authorize_net)]
        {
            match token.as_deref().map(str::trim) {
                Some(t) if t.is_empty() || t.len() > 4096 => {
                    errors.push(FieldError::new(format!("tokens.{gateway}"), "invalid", "a one-time token"))
                }
                Some(t) => tokens.push((gateway, t.to_owned())),
                None => {}
            }
        }
        if self.tokens.nmi.is_none() && self.tokens.authorize_net.is_none() {
            errors.push(FieldError::new("tokens", "required", "a one-time token from at least one gateway"));
        }
        if errors.is_empty() { Ok(tokens) } else { Err(Error::Invalid(errors)) }
    }

    pub fn billing(&self) -> Billing {
        let email = self.billing.email.clone().unwrap_or_else(|| self.customer_email.trim().to_owned());
        Billing { email: Some(email), ..self.billing.clone() }
    }
}

/// A stored payment method, as the API shows it: which gateways hold a credential for it, never
/// the credentials.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentMethod {
    pub id: Uuid,
    pub customer_email: String,
    pub brand: Option<String>,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    /// The gateways holding a vault credential for it.
    pub gateways: Vec<GatewayKind>,
    /// A credential at both gateways: a charge the primary certainly did not process may be tried
    /// at the other.
    pub can_fail_over: bool,
    /// The gateways that could not store it, and why (its token may be used again while it lives).
    pub not_stored: Vec<VaultFailure>,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    #[schema(ignore)]
    pub credentials: Vec<VaultCredential>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VaultFailure {
    pub gateway: GatewayKind,
    /// `declined`, `refused` (the gateway refused the token: used or expired), `not_processed` (the
    /// gateway could not be reached), `unknown`, or `no_account` (the tenant's account set has no
    /// account at that gateway).
    pub outcome: String,
    pub reason: String,
}

impl PaymentMethod {
    pub fn credential(&self, gateway: GatewayKind) -> Option<&VaultCredential> {
        self.credentials.iter().find(|c| c.gateway() == gateway)
    }
}
