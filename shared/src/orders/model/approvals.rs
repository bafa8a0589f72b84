//! Customer approvals for approval-gated products, registered by the tenant's own system (no
//! clinical data: who, which product, from when until when, the tenant's reference).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Error;
use crate::catalog::customer_key;
use crate::platform::error::FieldError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Approval {
    pub id: Uuid,
    pub customer_email: String,
    pub product_id: Uuid,
    pub platform_sku: String,
    pub reference: Option<String>,
    pub approved_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApproval {
    pub customer_email: String,
    /// The approval-gated platform product.
    pub platform_sku: String,
    /// Default: now.
    pub approved_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// The tenant's own reference for it.
    pub reference: Option<String>,
}

/// A new approval as checked: the customer's key, and when it starts.
#[derive(Debug)]
pub struct CheckedApproval {
    pub customer: String,
    pub from: DateTime<Utc>,
}

impl NewApproval {
    /// Every problem at once; an approval without a start starts `now`.
    pub fn check(&self, now: DateTime<Utc>) -> Result<CheckedApproval, Error> {
        let mut errors = Vec::new();
        let customer = customer_key(&self.customer_email);
        if !customer.contains('@') || customer.len() > 320 || customer.len() < 3 {
            errors.push(FieldError::new("customer_email", "invalid", "an email address"));
        }
        let from = self.approved_at.unwrap_or(now);
        if self.expires_at <= from {
            errors.push(FieldError::new("expires_at", "invalid", "after approved_at"));
        }
        if self.reference.as_ref().is_some_and(|r| r.chars().count() > 200) {
            errors.push(FieldError::new("reference", "too_long", "at most 200 characters"));
        }
        Error::check(errors)?;
        Ok(CheckedApproval { customer, from })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalFilter {
    pub customer_email: Option<String>,
    pub platform_sku: Option<String>,
}
