//! Channels: what a tenant's channel is, and the values channel payloads (Shopify, WooCommerce)
//! carry, read leniently and refused precisely.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Error, OrderInput};
use crate::platform::error::FieldError;

/// The kinds of channel: two with webhooks, two without.
pub const KINDS: &[&str] = &["shopify", "woocommerce", "custom", "portal"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Channel {
    pub id: Uuid,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub price_tolerance_bp: i32,
    pub active: bool,
    /// Where the channel posts its webhooks (Shopify and WooCommerce).
    pub webhook_path: Option<String>,
    /// Shown once, at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Where a channel of `kind` posts its webhooks, if it has any.
pub fn webhook_path(kind: &str, id: Uuid) -> Option<String> {
    matches!(kind, "shopify" | "woocommerce").then(|| format!("/api/v1/webhooks/{kind}/{id}"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// a-z, 0-9, `_`, `-`: the channel name SKU mappings use.
    pub code: String,
    /// `shopify`, `woocommerce`, `custom` or `portal`.
    pub kind: String,
    pub name: String,
    /// The webhook secret (Shopify: the app's client secret; WooCommerce: the webhook's secret).
    /// Generated when absent.
    pub secret: Option<String>,
    /// Default 500 (5 %).
    pub price_tolerance_bp: Option<i32>,
}

/// A new channel as checked: every problem at once.
#[derive(Debug)]
pub struct CheckedChannel {
    pub code: String,
    pub kind: String,
    pub name: String,
    pub secret: Option<String>,
    pub price_tolerance_bp: i32,
}

impl NewChannel {
    pub fn check(self) -> Result<CheckedChannel, Error> {
        let mut errors = Vec::new();
        let code = self.code.trim().to_lowercase();
        if !crate::platform::validate::code_name(&code) {
            errors.push(FieldError::new(
                "code",
                "invalid",
                "1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit",
            ));
        }
        if !KINDS.contains(&self.kind.as_str()) {
            errors.push(FieldError::new("kind", "invalid", "shopify, woocommerce, custom or portal"));
        }
        let name = crate::platform::validate::text(&self.name, "name", 200, &mut errors);
        if self.price_tolerance_bp.is_some_and(|t| !(0..=10_000).contains(&t)) {
            errors.push(FieldError::new("price_tolerance_bp", "out_of_range", "0 to 10000"));
        }
        if self.secret.as_ref().is_some_and(|s| s.len() < 16 || s.len() > 200) {
            errors.push(FieldError::new("secret", "invalid", "16 to 200 characters"));
        }
        Error::check(errors)?;
        Ok(CheckedChannel {
            code,
            kind: self.kind,
            name,
            secret: self.secret,
            price_tolerance_bp: self.price_tolerance_bp.unwrap_or(500),
        })
    }
}

/// What a channel delivery came to: `created`, `updated`, `cancelled`, `duplicate`, `ignored` or
/// `ping`, and the order with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub outcome: &'static str,
    pub order: Option<(Uuid, String)>,
}

/// A decimal amount (`"403.00"`, `12`, `3.5`) in minor units of a two-decimal currency, exactly.
pub fn minor_units(v: &Value) -> Option<i64> {
    let text = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 {
        return None;
    }
    let cents: i64 = format!("{frac:0<2}").parse().ok()?;
    let amount = whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)?;
    Some(if neg { -amount } else { amount })
}

/// An id as text (Shopify's exceed 2^53: kept exact), or `None`.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// A non-blank string, trimmed.
pub fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// "First Last" from the two halves a payload gives (either may be missing).
pub fn full_name(first: &Value, last: &Value) -> Option<String> {
    match (text(first), text(last)) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    }
}

/// Reads a payload's amounts, collecting every one that is not an amount as a field error.
#[derive(Debug, Default)]
pub struct Amounts {
    pub errors: Vec<FieldError>,
}

impl Amounts {
    /// The amount at `v` (`None` when absent), or a field error at `at`.
    pub fn read(&mut self, v: &Value, at: &str) -> Option<i64> {
        if v.is_null() {
            return None;
        }
        let m = minor_units(v);
        if m.is_none() {
            self.errors.push(FieldError::new(at, "invalid", "a decimal amount with at most two decimals"));
        }
        m
    }

    /// The sum of `price` over the objects at `v` (tax lines, shipping lines).
    pub fn sum(v: &Value) -> i64 {
        v.as_array().map_or(0, |t| t.iter().filter_map(|x| minor_units(&x["price"])).sum())
    }

    /// `input`, or every problem found.
    pub fn finish(self, input: OrderInput) -> Result<OrderInput, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(input) } else { Err(self.errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_amounts_become_exact_minor_units() {
        assert_eq!(minor_units(&Value::from("403.00")), Some(40300));
        assert_eq!(minor_units(&Value::from("0.45")), Some(45));
        assert_eq!(minor_units(&serde_json::json!(3)), Some(300));
        assert_eq!(minor_units(&serde_json::json!(12.5)), Some(1250));
        assert_eq!(minor_units(&Value::from("1.005")), None);
        assert_eq!(minor_units(&Value::from("abc")), None);
        assert_eq!(minor_units(&Value::from("-5.1")), Some(-510));
    }

    #[test]
    fn a_new_channel_is_refused_with_every_problem_at_once() {
        let bad = NewChannel {
            code: "Not OK!".into(),
            kind: "ebay".into(),
            name: " ".into(),
            secret: Some("short".into()),
            price_tolerance_bp: Some(10_001),
        };
        let Err(Error::Invalid(errors)) = bad.check() else { panic!("refused") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "kind", "name", "price_tolerance_bp", "secret"]);
    }
}
