//! The orders context's parsed types: the input every intake path is translated into, the order as
//! stored, and the order state machine of ARCHITECTURE.md §4 — its transitions and the event each
//! one publishes in one exhaustive match.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The states of ARCHITECTURE.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    NeedsReview,
    OnHold,
    Accepted,
    PaymentPending,
    PaymentAuthorized,
    PaymentFailed,
    InventoryReserved,
    Backordered,
    FulfillmentSubmitted,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
}

/// The kind of the exception the sweep raises for an order that is not moving.
pub const STUCK: &str = "stuck_order";

/// What names the order's stuck exception in `status` (one per order and state).
pub fn stuck_subject(order: Uuid, status: OrderStatus) -> String {
    format!("order/{order}/stuck/{}", status.as_str())
}

/// The order events: the one each state publishes when an order enters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderEventType {
    Held,
    Accepted,
    PaymentPending,
    PaymentAuthorized,
    PaymentFailed,
    InventoryReserved,
    Backordered,
    FulfillmentSubmitted,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderEventType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Held => "order.held",
            Self::Accepted => "order.accepted",
            Self::PaymentPending => "order.payment_pending",
            Self::PaymentAuthorized => "order.payment_authorized",
            Self::PaymentFailed => "order.payment_failed",
            Self::InventoryReserved => "order.inventory_reserved",
            Self::Backordered => "order.backordered",
            Self::FulfillmentSubmitted => "order.fulfillment_submitted",
            Self::Shipped => "order.shipped",
            Self::Delivered => "order.delivered",
            Self::Cancelled => "order.cancelled",
        }
    }
}

/// A move the state machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order in {} cannot move to {}", .from.map_or("(new)", OrderStatus::as_str), .to.as_str())]
pub struct InvalidTransition {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 13] = [
        Self::NeedsReview,
        Self::OnHold,
        Self::Accepted,
        Self::PaymentPending,
        Self::PaymentAuthorized,
        Self::PaymentFailed,
        Self::InventoryReserved,
        Self::Backordered,
        Self::FulfillmentSubmitted,
        Self::PartiallyShipped,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
    ];

    /// The states a new order is written in: accepted, or held for review.
    pub const INITIAL: &'static [OrderStatus] = &[Self::NeedsReview, Self::Accepted];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NeedsReview => "needs_review",
            Self::OnHold => "on_hold",
            Self::Accepted => "accepted",
            Self::PaymentPending => "payment_pending",
            Self::PaymentAuthorized => "payment_authorized",
            Self::PaymentFailed => "payment_failed",
            Self::InventoryReserved => "inventory_reserved",
            Self::Backordered => "backordered",
            Self::FulfillmentSubmitted => "fulfillment_submitted",
            Self::PartiallyShipped => "partially_shipped",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
        }
    }

    /// How long an order may stay in this state before the sweep calls it stuck, in minutes (a
    /// tenant's setting `orders.stuck_after_minutes` overrides it per state); none for a final state.
    pub const fn stuck_after(self) -> Option<i64> {
        match self {
            Self::Accepted | Self::PaymentAuthorized => Some(15),
            Self::PaymentPending => Some(30),
            Self::NeedsReview | Self::InventoryReserved => Some(1440),
            Self::PaymentFailed => Some(2880),
            Self::OnHold | Self::FulfillmentSubmitted => Some(4320),
            Self::Backordered | Self::PartiallyShipped => Some(10_080),
            Self::Shipped => Some(20_160),
            Self::Delivered | Self::Cancelled => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Where an order in this state may go next. An order on hold goes back to the state it left
    /// (any state an operator may hold), or is cancelled; cancelling is possible until shipment.
    pub const fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            NeedsReview => &[Accepted, OnHold, Cancelled],
            OnHold => &[
                NeedsReview,
                Accepted,
                PaymentAuthorized,
                PaymentFailed,
                InventoryReserved,
                Backordered,
                Cancelled,
            ],
            Accepted => &[PaymentPending, PaymentAuthorized, PaymentFailed, OnHold, Cancelled],
            PaymentPending => &[PaymentAuthorized, PaymentFailed, Cancelled],
            PaymentAuthorized => &[InventoryReserved, Backordered, OnHold, Cancelled],
            PaymentFailed => &[PaymentPending, PaymentAuthorized, OnHold, Cancelled],
            InventoryReserved => &[FulfillmentSubmitted, OnHold, Cancelled],
            Backordered => &[InventoryReserved, OnHold, Cancelled],
            FulfillmentSubmitted => &[PartiallyShipped, Shipped, Cancelled],
            PartiallyShipped => &[Shipped],
            Shipped => &[Delivered],
            Delivered => &[],
            Cancelled => &[],
        }
    }

    /// The event an order entering this state publishes.
    pub const fn event(self) -> OrderEventType {
        match self {
            Self::NeedsReview | Self::OnHold => OrderEventType::Held,
            Self::Accepted => OrderEventType::Accepted,
            Self::PaymentPending => OrderEventType::PaymentPending,
            Self::PaymentAuthorized => OrderEventType::PaymentAuthorized,
            Self::PaymentFailed => OrderEventType::PaymentFailed,
            Self::InventoryReserved => OrderEventType::InventoryReserved,
            Self::Backordered => OrderEventType::Backordered,
            Self::FulfillmentSubmitted => OrderEventType::FulfillmentSubmitted,
            Self::PartiallyShipped | Self::Shipped => OrderEventType::Shipped,
            Self::Delivered => OrderEventType::Delivered,
            Self::Cancelled => OrderEventType::Cancelled,
        }
    }

    /// Whether the machine allows this state to move to `to`.
    pub fn can_become(self, to: OrderStatus) -> bool {
        self.next().contains(&to)
    }

    /// Whether the addresses may still change (until the order is handed to a warehouse).
    pub const fn editable(self) -> bool {
        use OrderStatus::*;
        match self {
            NeedsReview | OnHold | Accepted | PaymentPending | PaymentAuthorized | PaymentFailed
            | InventoryReserved | Backordered => true,
            FulfillmentSubmitted | PartiallyShipped | Shipped | Delivered | Cancelled => false,
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The move from `from` (`None`: a new order) to `to`, and the event it publishes — or the refusal.
pub fn transition(from: Option<OrderStatus>, to: OrderStatus) -> Result<OrderEventType, InvalidTransition> {
    let allowed = match from {
        None => OrderStatus::INITIAL,
        Some(f) => f.next(),
    };
    if allowed.contains(&to) { Ok(to.event()) } else { Err(InvalidTransition { from, to }) }
}

/// A postal address as every path hands it to the pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub name: Option<String>,
    pub company: Option<String>,
    /// Also accepted as `street`.
    #[serde(alias = "street")]
    pub line1: Option<String>,
    /// Also accepted as `street2`.
    #[serde(alias = "street2")]
    pub line2: Option<String>,
    pub city: Option<String>,
    /// State or province code (`KY`, `CA`); required in the US. A US ZIP code outside this state
    /// holds the order for review (`address_mismatch`).
    pub state: Option<String>,
    /// Also accepted as `zip` or `postalCode`.
    #[serde(alias = "zip", alias = "postalCode")]
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
    /// A `token` order may be paid with a stored payment method (`POST /api/v1/payment-methods`)
    /// instead of a one-time token.
    pub payment_method_id: Option<Uuid>,
    /// The channel's payment status (`paid`, `authorized`, `pending`, `voided`, ...).
    pub status: Option<String>,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// The SKU as the channel sent it (empty counts as none).
    pub sku: Option<String>,
    /// The channel's product id (string or integer of any size; never a fraction). Also
    /// accepted as `productId`.
    #[serde(default, alias = "productId", deserialize_with = "crate::catalog::id_like")]
    #[schema(value_type = Option<String>)]
    pub product_id: Option<String>,
    /// Also accepted as `variantId`.
    #[serde(default, alias = "variantId", deserialize_with = "crate::catalog::id_like")]
    #[schema(value_type = Option<String>)]
    pub variant_id: Option<String>,
    pub name: Option<String>,
    pub quantity: i64,
    /// Minor units. Given: the channel's price, kept. Absent on every line: priced by the
    /// tenant's price lists and promotions. Also accepted as `unitPrice`.
    #[serde(alias = "unitPrice")]
    pub unit_price: Option<i64>,
    pub discount: Option<i64>,
    pub tax: Option<i64>,
}

/// The other spellings the order body's fields are accepted under (the product brief's names), as
/// (schema, alias, field): the OpenAPI document shows each. A test below holds them to the serde
/// attributes.
pub const FIELD_ALIASES: &[(&str, &str, &str)] = &[
    ("OrderInput", "externalId", "external_id"),
    ("OrderInput", "shippingAddress", "shipping_address"),
    ("OrderInput", "billingAddress", "billing_address"),
    ("OrderInput", "lineItems", "lines"),
    ("OrderInput", "promotionCodes", "promotion_codes"),
    ("LineInput", "productId", "product_id"),
    ("LineInput", "variantId", "variant_id"),
    ("LineInput", "unitPrice", "unit_price"),
    ("Address", "street", "line1"),
    ("Address", "street2", "line2"),
    ("Address", "zip", "postal_code"),
    ("Address", "postalCode", "postal_code"),
];

/// An order as every intake path hands it to the pipeline (the API body; what a channel adapter
/// or a field-mapping profile produces).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The caller's id for the order (unique per channel; the same id with another body is a 409
    /// `external_id_conflict`). Also accepted as `externalId`.
    #[serde(alias = "externalId")]
    pub external_id: Option<String>,
    /// ISO 4217; default: the tenant's currency (setting `orders.currency`).
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub customer: Customer,
    /// Also accepted as `shippingAddress`.
    #[serde(alias = "shippingAddress")]
    pub shipping_address: Option<Address>,
    /// Also accepted as `billingAddress`.
    #[serde(alias = "billingAddress")]
    pub billing_address: Option<Address>,
    /// Also accepted as `lineItems`.
    #[serde(alias = "lineItems")]
    pub lines: Vec<LineInput>,
    /// Channel totals (minor units), kept as the customer saw them.
    pub shipping: Option<i64>,
    pub tax: Option<i64>,
    pub discount: Option<i64>,
    pub total: Option<i64>,
    /// Default: the tenant's default payment source (setting `orders.default_payment_source`),
    /// when it has one.
    #[serde(default)]
    pub payment: Payment,
    /// Also accepted as `promotionCodes`.
    #[serde(default, alias = "promotionCodes")]
    pub promotion_codes: Vec<String>,
    pub notes: Option<String>,
}

impl OrderInput {
    /// SHA-256 of the input as read (field order fixed by the type): two bodies that read the
    /// same have the same fingerprint, whatever their spelling (aliases, key order, spacing).
    pub fn fingerprint(&self) -> Vec<u8> {
        crate::platform::crypto::sha256(&serde_json::to_string(self).unwrap_or_default())
    }
}

/// Who or what put the order in.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `admin`, `portal`, `api`, `shopify`, `woocommerce` or `custom`.
    pub source: &'static str,
    pub channel_id: Option<Uuid>,
    /// `user`, `api_key`, `system` or `channel`, and its id.
    pub actor: (&'static str, Option<Uuid>),
    pub placed_by: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub profile_version: Option<i32>,
}

impl Origin {
    /// Whether a repeated external id must come with the same body: for orders sent to the API
    /// (a channel's webhooks send the same order again as it changes; they are topics, not repeats).
    pub fn compares_bodies(&self) -> bool {
        !matches!(self.source, "shopify" | "woocommerce")
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Line {
    pub line_no: i32,
    pub tenant_sku: Option<String>,
    pub channel_product_id: Option<String>,
    pub channel_variant_id: Option<String>,
    pub name: Option<String>,
    pub product_id: Option<Uuid>,
    pub platform_sku: Option<String>,
    pub quantity: i32,
    pub unit_price: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    /// The tenant's human order number.
    pub number: i64,
    pub status: OrderStatus,
    pub source: String,
    pub channel_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub currency: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<serde_json::Value>,
    /// `token`, `external` or `terms`.
    pub payment_source: String,
    pub payment_status: Option<String>,
    pub payment_reference: Option<String>,
    /// The stored payment method the order is paid with (given at intake or on a retry).
    pub payment_method_id: Option<Uuid>,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    #[schema(value_type = Object)]
    pub pricing: serde_json::Value,
    pub promotion_codes: Vec<String>,
    pub notes: Option<String>,
    /// The person (or the creator of the API key) who placed it; none for channel orders.
    pub placed_by: Option<Uuid>,
    pub placed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<Line>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    pub status: Option<String>,
    pub channel_id: Option<Uuid>,
    /// `admin`, `portal`, `api`, `shopify`, `woocommerce` or `custom`.
    pub source: Option<String>,
    /// Placed at or after (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Placed before (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Orders with a line of this SKU (platform or tenant), any case.
    pub sku: Option<String>,
    pub customer_email: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: Option<String>,
    pub actor_kind: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderEventEntry {
    pub id: Uuid,
    pub event_type: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every documented alias is one serde accepts: a body spelled with it reads the same as the
    /// body spelled with the field's own name.
    #[test]
    fn every_documented_alias_is_accepted() {
        let base = serde_json::json!({"currency": "USD", "customer": {"email": "a@b.c"},
            "lines": [{"sku": "S", "quantity": 1}], "payment": {"source": "terms"}});
        for (schema, alias, field) in FIELD_ALIASES {
            let value = if field.ends_with("address") {
                serde_json::json!({"city": "X"})
            } else {
                serde_json::json!("7")
            };
            let value = if *field == "lines" { base["lines"].clone() } else { value };
            let value = if *field == "promotion_codes" { serde_json::json!(["P"]) } else { value };
            let value = if *field == "unit_price" { serde_json::json!(7) } else { value };
            let place = |name: &str| {
                let mut body = base.clone();
                match *schema {
                    "OrderInput" => body[name] = value.clone(),
                    "LineInput" => body["lines"][0][name] = value.clone(),
                    _ => body["shipping_address"] = serde_json::json!({ name: value.clone() }),
                }
                if *schema == "OrderInput" && name == *alias && *field == "lines" {
                    body.as_object_mut().unwrap().remove("lines");
                    body[name] = value.clone();
                }
                serde_json::from_value::<OrderInput>(body)
            };
            assert_eq!(place(alias).expect(alias), place(field).expect(field), "{schema}.{alias}");
        }
    }

    /// ARCHITECTURE.md §4, written out independently of `OrderStatus::next`: (from, to, event).
    /// `None` is a new order. On hold goes back to the state it left (any state an operator may
    /// hold: needs_review, accepted, payment_authorized, payment_failed, inventory_reserved,
    /// backordered); cancelling is possible until shipment.
    const EXPECTED: &[(Option<&str>, &str, &str)] = &[
        (None, "needs_review", "order.held"),
        (None, "accepted", "order.accepted"),
        (Some("needs_review"), "accepted", "order.accepted"),
        (Some("needs_review"), "on_hold", "order.held"),
        (Some("needs_review"), "cancelled", "order.cancelled"),
        (Some("on_hold"), "needs_review", "order.held"),
        (Some("on_hold"), "accepted", "order.accepted"),
        (Some("on_hold"), "payment_authorized", "order.payment_authorized"),
        (Some("on_hold"), "payment_failed", "order.payment_failed"),
        (Some("on_hold"), "inventory_reserved", "order.inventory_reserved"),
        (Some("on_hold"), "backordered", "order.backordered"),
        (Some("on_hold"), "cancelled", "order.cancelled"),
        (Some("accepted"), "payment_pending", "order.payment_pending"),
        (Some("accepted"), "payment_authorized", "order.payment_authorized"),
        (Some("accepted"), "payment_failed", "order.payment_failed"),
        (Some("accepted"), "on_hold", "order.held"),
        (Some("accepted"), "cancelled", "order.cancelled"),
        (Some("payment_pending"), "payment_authorized", "order.payment_authorized"),
        (Some("payment_pending"), "payment_failed", "order.payment_failed"),
        (Some("payment_pending"), "cancelled", "order.cancelled"),
        (Some("payment_authorized"), "inventory_reserved", "order.inventory_reserved"),
        (Some("payment_authorized"), "backordered", "order.backordered"),
        (Some("payment_authorized"), "on_hold", "order.held"),
        (Some("payment_authorized"), "cancelled", "order.cancelled"),
        (Some("payment_failed"), "payment_pending", "order.payment_pending"),
        (Some("payment_failed"), "payment_authorized", "order.payment_authorized"),
        (Some("payment_failed"), "on_hold", "order.held"),
        (Some("payment_failed"), "cancelled", "order.cancelled"),
        (Some("inventory_reserved"), "fulfillment_submitted", "order.fulfillment_submitted"),
        (Some("inventory_reserved"), "on_hold", "order.held"),
        (Some("inventory_reserved"), "cancelled", "order.cancelled"),
        (Some("backordered"), "inventory_reserved", "order.inventory_reserved"),
        (Some("backordered"), "on_hold", "order.held"),
        (Some("backordered"), "cancelled", "order.cancelled"),
        (Some("fulfillment_submitted"), "partially_shipped", "order.shipped"),
        (Some("fulfillment_submitted"), "shipped", "order.shipped"),
        (Some("fulfillment_submitted"), "cancelled", "order.cancelled"),
        (Some("partially_shipped"), "shipped", "order.shipped"),
        (Some("shipped"), "delivered", "order.delivered"),
    ];

    const STATES: [&str; 13] = [
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

    fn status(s: &str) -> OrderStatus {
        OrderStatus::parse(s).unwrap_or_else(|| unreachable!("unknown state {s}"))
    }

    #[test]
    fn the_states_are_those_of_the_architecture_and_round_trip() {
        let ours: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(ours, STATES);
        for s in OrderStatus::ALL {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(s.as_str())));
        }
        assert_eq!(OrderStatus::parse("shipping"), None);
    }

    #[test]
    fn every_ordered_pair_of_states_is_allowed_with_its_event_or_refused() {
        let froms = std::iter::once(None).chain(STATES.iter().map(|s| Some(*s)));
        let mut allowed = 0;
        for from in froms {
            for to in STATES {
                let expected = EXPECTED.iter().find(|(f, t, _)| *f == from && *t == to).map(|(_, _, e)| *e);
                let got = transition(from.map(status), status(to));
                match expected {
                    Some(event) => {
                        allowed += 1;
                        assert_eq!(got.map(OrderEventType::as_str), Ok(event), "{from:?} -> {to}");
                    }
                    None => assert_eq!(
                        got,
                        Err(InvalidTransition { from: from.map(status), to: status(to) }),
                        "{from:?} -> {to} must be refused"
                    ),
                }
            }
        }
        assert_eq!(allowed, EXPECTED.len(), "every expected transition names real states");
        // 14 origins (a new order and 13 states) × 13 targets were asserted.
    }

    #[test]
    fn the_terminal_states_go_nowhere_and_addresses_freeze_at_fulfilment() {
        for s in ["delivered", "cancelled"] {
            assert!(status(s).next().is_empty(), "{s}");
        }
        let editable: Vec<&str> = STATES.iter().copied().filter(|s| status(s).editable()).collect();
        assert_eq!(
            editable,
            [
                "needs_review",
                "on_hold",
                "accepted",
                "payment_pending",
                "payment_authorized",
                "payment_failed",
                "inventory_reserved",
                "backordered"
            ]
        );
    }

    #[test]
    fn a_refusal_names_both_states() {
        let e = transition(Some(OrderStatus::Delivered), OrderStatus::Accepted).err();
        assert_eq!(e.map(|e| e.to_string()), Some("an order in delivered cannot move to accepted".into()));
    }
}
