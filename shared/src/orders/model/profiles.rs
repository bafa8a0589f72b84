//! Field-mapping profiles: how a custom channel's own payload becomes an order. Per tenant and
//! channel, versioned (each change is a new version; orders record the one they were read with).
//!
//! Rules (JSON):
//! ```json
//! {"fields": {"external_id": {"path": "$.order.ref"},
//!             "currency": {"path": "$.order.currency", "default": "USD", "transforms": ["trim", "upper"]},
//!             "customer.name": {"path": "$.buyer", "transforms": ["trim"]},
//!             "shipping_address.state": {"path": "$.ship.state", "transforms": ["state"]},
//!             "payment.source": {"constant": "terms"}},
//!  "lines": {"path": "$.order.items[*]",
//!            "fields": {"sku": {"path": "$.code"}, "quantity": {"path": "$.qty"},
//!                       "unit_price": {"path": "$.price", "transforms": ["minor_units"]}}},
//!  "required": ["external_id", "customer.email"]}
//! ```
//! Paths are RFC 9535 JSONPath (`serde_json_path`); a path must select at most one value (a
//! line's paths are relative to the line). Transforms: `trim`, `upper`, `lower`, `first_name` /
//! `last_name` (split a full name), `minor_units` (a decimal string or number to minor units, two
//! decimals), `integer`, `country` (names and alpha-3 to ISO alpha-2), `state` (US state names to
//! codes). A failure names the exact rule.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_json_path::JsonPath;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Error, OrderInput};
use crate::platform::error::FieldError;

/// The order fields a profile may fill (dotted: `customer.email`, `shipping_address.city`, ...).
pub const ORDER_FIELDS: &[&str] = &[
    "external_id",
    "currency",
    "customer.email",
    "customer.name",
    "customer.phone",
    "shipping_address.name",
    "shipping_address.company",
    "shipping_address.line1",
    "shipping_address.line2",
    "shipping_address.city",
    "shipping_address.state",
    "shipping_address.postal_code",
    "shipping_address.country",
    "shipping_address.phone",
    "billing_address.name",
    "billing_address.line1",
    "billing_address.line2",
    "billing_address.city",
    "billing_address.state",
    "billing_address.postal_code",
    "billing_address.country",
    "shipping",
    "tax",
    "discount",
    "total",
    "payment.source",
    "payment.token",
    "payment.status",
    "payment.reference",
    "notes",
];
pub const LINE_FIELDS: &[&str] =
    &["sku", "product_id", "variant_id", "name", "quantity", "unit_price", "discount", "tax"];
pub const TRANSFORMS: &[&str] =
    &["trim", "upper", "lower", "first_name", "last_name", "minor_units", "integer", "country", "state"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// RFC 9535 JSONPath selecting at most one value.
    pub path: Option<String>,
    /// Used when the path selects nothing (or null).
    #[schema(value_type = Option<serde_json::Value>)]
    pub default: Option<Value>,
    /// Used instead of any path.
    #[schema(value_type = Option<serde_json::Value>)]
    pub constant: Option<Value>,
    #[serde(default)]
    pub transforms: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRules {
    /// Selects every line.
    pub path: String,
    pub fields: BTreeMap<String, Rule>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub fields: BTreeMap<String, Rule>,
    pub lines: LineRules,
    /// Order fields that must end up with a value.
    #[serde(default)]
    pub required: Vec<String>,
}

fn rule_error(rule: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(rule, "profile_rule_failed", message)
}

/// Checks a profile: every path parses, every target and transform exists.
pub fn check_rules(r: &Rules) -> Result<(), Error> {
    let mut errors = Vec::new();
    let mut check = |at: String, rule: &Rule, known: &[&str], target: &str| {
        if !known.contains(&target) {
            errors.push(FieldError::new(&at, "unknown_field", format!("not one of: {}", known.join(", "))));
        }
        match (&rule.path, &rule.constant) {
            (None, None) => errors.push(FieldError::new(&at, "required", "a path or a constant")),
            (Some(p), _) => {
                if let Err(e) = JsonPath::parse(p) {
                    errors.push(FieldError::new(format!("{at}.path"), "invalid_path", e.to_string()));
                }
            }
            (None, Some(_)) => {}
        }
        for t in &rule.transforms {
            if !TRANSFORMS.contains(&t.as_str()) {
                errors.push(FieldError::new(
                    format!("{at}.transforms"),
                    "unknown_transform",
                    format!("{t}: not one of {}", TRANSFORMS.join(", ")),
                ));
            }
        }
    };
    for (target, rule) in &r.fields {
        check(format!("fields.{target}"), rule, ORDER_FIELDS, target);
    }
    for (target, rule) in &r.lines.fields {
        check(format!("lines.fields.{target}"), rule, LINE_FIELDS, target);
    }
    if let Err(e) = JsonPath::parse(&r.lines.path) {
        errors.push(FieldError::new("lines.path", "invalid_path", e.to_string()));
    }
    for (i, req) in r.required.iter().enumerate() {
        if !ORDER_FIELDS.contains(&req.as_str()) {
            errors.push(FieldError::new(format!("required[{i}]"), "unknown_field", req.clone()));
        }
    }
    Error::check(errors)
}

const STATES: &[(&str, &str)] = &[
    ("alabama", "AL"),
    ("alaska", "AK"),
    ("arizona", "AZ"),
    ("arkansas", "AR"),
    ("california", "CA"),
    ("colorado", "CO"),
    ("connecticut", "CT"),
    ("delaware", "DE"),
    ("district of columbia", "DC"),
    ("florida", "FL"),
    ("georgia", "GA"),
    ("hawaii", "HI"),
    ("idaho", "ID"),
    ("illinois", "IL"),
    ("indiana", "IN"),
    ("iowa", "IA"),
    ("kansas", "KS"),
    ("kentucky", "KY"),
    ("louisiana", "LA"),
    ("maine", "ME"),
    ("maryland", "MD"),
    ("massachusetts", "MA"),
    ("michigan", "MI"),
    ("minnesota", "MN"),
    ("mississippi", "MS"),
    ("missouri", "MO"),
    ("montana", "MT"),
    ("nebraska", "NE"),
    ("nevada", "NV"),
    ("new hampshire", "NH"),
    ("new jersey", "NJ"),
    ("new mexico", "NM"),
    ("new york", "NY"),
    ("north carolina", "NC"),
    ("north dakota", "ND"),
    ("ohio", "OH"),
    ("oklahoma", "OK"),
    ("oregon", "OR"),
    ("pennsylvania", "PA"),
    ("rhode island", "RI"),
    ("south carolina", "SC"),
    ("south dakota", "SD"),
    ("tennessee", "TN"),
    ("texas", "TX"),
    ("utah", "UT"),
    ("vermont", "VT"),
    ("virginia", "VA"),
    ("washington", "WA"),
    ("west virginia", "WV"),
    ("wisconsin", "WI"),
    ("wyoming", "WY"),
];

const COUNTRIES: &[(&str, &str)] = &[
    ("united states", "US"),
    ("united states of america", "US"),
    ("usa", "US"),
    ("canada", "CA"),
    ("can", "CA"),
    ("mexico", "MX"),
    ("mex", "MX"),
    ("united kingdom", "GB"),
    ("gbr", "GB"),
    ("great britain", "GB"),
];

fn transform(v: Value, t: &str) -> Result<Value, String> {
    let text = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("{t} needs text, got {other}")),
    };
    Ok(match t {
        "trim" => Value::from(text(&v)?.trim()),
        "upper" => Value::from(text(&v)?.to_uppercase()),
        "lower" => Value::from(text(&v)?.to_lowercase()),
        "first_name" | "last_name" => {
            let full = text(&v)?;
            let full = full.trim();
            let (first, last) = full.split_once(' ').unwrap_or((full, ""));
            Value::from(if t == "first_name" { first.trim() } else { last.trim() })
        }
        "minor_units" => super::minor_units(&v)
            .map(Value::from)
            .ok_or_else(|| format!("{v} is not a decimal amount with at most two decimals"))?,
        "integer" => match &v {
            Value::Number(n) if n.is_i64() => v.clone(),
            _ => text(&v)?
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{v} is not an integer"))?,
        },
        "country" => {
            let s = text(&v)?.trim().to_owned();
            let lower = s.to_lowercase();
            match COUNTRIES.iter().find(|(name, _)| *name == lower) {
                Some((_, code)) => Value::from(*code),
                None if s.len() == 2 => Value::from(s.to_uppercase()),
                None => return Err(format!("{s:?} is not a country this profile knows")),
            }
        }
        "state" => {
            let s = text(&v)?.trim().to_owned();
            let lower = s.to_lowercase();
            match STATES.iter().find(|(name, _)| *name == lower) {
                Some((_, code)) => Value::from(*code),
                None if s.len() == 2 => Value::from(s.to_uppercase()),
                None => return Err(format!("{s:?} is not a US state")),
            }
        }
        other => return Err(format!("unknown transform {other}")),
    })
}

/// The value of one rule against `doc`, or the exact failure.
fn apply_rule(at: &str, rule: &Rule, doc: &Value) -> Result<Option<Value>, FieldError> {
    let picked = match (&rule.constant, &rule.path) {
        (Some(c), _) => Some(c.clone()),
        (None, Some(p)) => {
            let path = JsonPath::parse(p).map_err(|e| rule_error(at, format!("path {p}: {e}")))?;
            let found = path.query(doc).all();
            match found.as_slice() {
                [] => None,
                [one] => Some((*one).clone()),
                many => {
                    return Err(rule_error(at, format!("path {p} selects {} values, not one", many.len())));
                }
            }
        }
        (None, None) => None,
    };
    let picked = picked.filter(|v| !v.is_null()).or_else(|| rule.default.clone());
    let Some(mut v) = picked else { return Ok(None) };
    for t in &rule.transforms {
        v = transform(v, t).map_err(|e| rule_error(&format!("{at}.transforms[{t}]"), e))?;
    }
    Ok(Some(v))
}

fn put(obj: &mut Map<String, Value>, dotted: &str, v: Value) {
    match dotted.split_once('.') {
        Some((head, rest)) => {
            let inner = obj.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = inner {
                put(m, rest, v);
            }
        }
        None => {
            obj.insert(dotted.to_owned(), v);
        }
    }
}

/// Runs a profile on a payload: the order it reads, or the rule that failed.
pub fn apply(rules: &Rules, payload: &Value) -> Result<OrderInput, Error> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for (target, rule) in &rules.fields {
        match apply_rule(&format!("fields.{target}"), rule, payload) {
            Ok(Some(v)) => put(&mut out, target, v),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    let read = Value::Object(out.clone());
    for req in &rules.required {
        let present = req.split('.').try_fold(&read, |node, k| node.get(k)).is_some_and(|v| !v.is_null());
        if !present {
            errors.push(rule_error(
                &format!("required.{req}"),
                format!("{req} is required and the payload has none"),
            ));
        }
    }
    let lines_path = JsonPath::parse(&rules.lines.path)
        .map_err(|e| Error::Invalid(vec![rule_error("lines.path", e.to_string())]))?;
    let mut lines = Vec::new();
    for (i, item) in lines_path.query(payload).all().into_iter().enumerate() {
        let mut line = Map::new();
        for (target, rule) in &rules.lines.fields {
            match apply_rule(&format!("lines[{i}].{target}"), rule, item) {
                Ok(Some(v)) => put(&mut line, target, v),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        lines.push(Value::Object(line));
    }
    if lines.is_empty() {
        errors.push(rule_error("lines.path", format!("{} selects no lines", rules.lines.path)));
    }
    out.insert("lines".into(), Value::Array(lines));
    out.entry("payment").or_insert_with(|| serde_json::json!({"source": "terms"}));
    out.entry("currency").or_insert_with(|| Value::from(""));
    Error::check(errors)?;
    Ok(crate::platform::http::read_json(Value::Object(out).to_string().as_bytes())?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub version: i32,
    pub rules: Rules,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A sample payload as the channel would send it.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Rules to try (default: the channel's newest version).
    pub rules: Option<Rules>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub version: Option<i32>,
    /// The order the profile reads from the payload.
    pub order: OrderInput,
}
