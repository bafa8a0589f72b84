//! The orders context: one intake pipeline for every channel ([`intake`]), the order model and its
//! state machine, and the order APIs.
//!
//! Work in progress (issue #7): the model, the input every path is translated into, and the
//! pipeline's checks. Channels, profiles, idempotency and the routes follow.

pub mod api;
pub mod approvals;
pub mod channels;
pub mod exceptions;
pub mod idempotency;
pub mod intake;
pub mod profiles;
pub mod revalidation;
pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The states of ARCHITECTURE.md §4.
pub const STATUSES: &[&str] = &[
    "needs_review",
    "on_hold",
    "accepted",
    "payment_pending",
    "payment_authorized",
    "payment_failed",
    "inventory_reserved",
    "backordered",
    "fulfillment_submitted",
    "partially_shipped",
    "shipped",
    "delivered",
    "cancelled",
];

/// A postal address as every path hands it to the pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub name: Option<String>,
    pub company: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    /// State or province code (`KY`, `CA`); required in the US.
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// How the order is paid: a gateway payment `token` (charged by the payment step), `external`
/// (paid on the channel; its status and reference are recorded) or `terms` (invoice terms).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    pub source: String,
    pub token: Option<String>,
    /// The channel's payment status (`paid`, `authorized`, `pending`, `voided`, ...).
    pub status: Option<String>,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// The SKU as the channel sent it (empty counts as none).
    pub sku: Option<String>,
    /// The channel's product id (string or integer of any size; never a fraction).
    #[serde(default, deserialize_with = "crate::catalog::id_like")]
    #[schema(value_type = Option<String>)]
    pub product_id: Option<String>,
    #[serde(default, deserialize_with = "crate::catalog::id_like")]
    #[schema(value_type = Option<String>)]
    pub variant_id: Option<String>,
    pub name: Option<String>,
    pub quantity: i64,
    /// Minor units. Given: the channel's price, kept. Absent on every line: priced by the
    /// tenant's price lists and promotions.
    pub unit_price: Option<i64>,
    pub discount: Option<i64>,
    pub tax: Option<i64>,
}

/// An order as every intake path hands it to the pipeline (the API body; what a channel adapter
/// or a field-mapping profile produces).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The channel's id for the order (unique per channel).
    pub external_id: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub customer: Customer,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub lines: Vec<LineInput>,
    /// Channel totals (minor units), kept as the customer saw them.
    pub shipping: Option<i64>,
    pub tax: Option<i64>,
    pub discount: Option<i64>,
    pub total: Option<i64>,
    pub payment: Payment,
    #[serde(default)]
    pub promotion_codes: Vec<String>,
    pub notes: Option<String>,
}
