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

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_json_path::JsonPath;
use tokio_postgres::Transaction;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::Principal;
use crate::orders::OrderInput;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::{ApiJson, path_id};
use crate::platform::state::AppState;

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
    #[schema(value_type = Option<Object>)]
    pub default: Option<Value>,
    /// Used instead of any path.
    #[schema(value_type = Option<Object>)]
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
pub fn check_rules(r: &Rules) -> Result<(), ApiError> {
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
    crate::platform::validate::check(errors)
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
        "minor_units" => crate::orders::api::channels::minor_units(&v)
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
pub fn apply(rules: &Rules, payload: &Value) -> Result<OrderInput, ApiError> {
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
        .map_err(|e| ApiError::Validation(vec![rule_error("lines.path", e.to_string())]))?;
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
    crate::platform::validate::check(errors)?;
    crate::platform::http::parse_json(Value::Object(out).to_string().as_bytes())
}

/// The newest profile of a channel: its version and rules.
pub async fn latest(tx: &Transaction<'_>, channel: Uuid) -> Result<Option<(i32, Rules)>, ApiError> {
    let row = tx
        .query_opt("SELECT version, rules FROM field_mapping_profiles WHERE channel_id = $1 ORDER BY version DESC LIMIT 1", &[&channel])
        .await?;
    Ok(row.and_then(|r| serde_json::from_value::<Rules>(r.get(1)).ok().map(|rules| (r.get(0), rules))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub version: i32,
    pub rules: Rules,
    pub created_at: DateTime<Utc>,
}

async fn channel_of(tx: &Transaction<'_>, raw: &str) -> Result<Uuid, ApiError> {
    let id = path_id(raw, "a channel")?;
    tx.query_opt("SELECT id FROM channels WHERE id = $1", &[&id])
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| ApiError::NotFound(format!("channel {id}")))
}

/// Saves a new version of a channel's field-mapping profile.
#[utoipa::path(post, path = "/api/v1/channels/{id}/profiles", operation_id = "profiles_create", tag = "orders",
    params(("id" = Uuid, Path, description = "Channel id")), request_body = Rules, security(("bearer" = [])),
    responses(
        (status = 201, description = "The new version", body = Profile),
        (status = 404, description = "No such channel", body = crate::Problem),
        (status = 422, description = "A rule that cannot work (path, field, transform)", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(rules): ApiJson<Rules>,
) -> Result<(StatusCode, Json<Profile>), ApiError> {
    check_rules(&rules)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let channel = channel_of(&tx, &id).await?;
    tx.execute("SELECT 1 FROM channels WHERE id = $1 FOR UPDATE", &[&channel]).await?;
    let version: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) + 1 FROM field_mapping_profiles WHERE channel_id = $1",
            &[&channel],
        )
        .await?
        .get(0);
    let pid = Uuid::now_v7();
    let json = serde_json::to_value(&rules).map_err(ApiError::internal)?;
    tx.execute(
        "INSERT INTO field_mapping_profiles (id, tenant_id, channel_id, version, rules, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&pid, &principal.tenant.as_uuid(), &channel, &version, &json, &principal.user_id, &principal.now],
    )
    .await?;
    let made = Profile { id: pid, channel_id: channel, version, rules, created_at: principal.now };
    audit::record(&tx, &principal, Entry::new("profile.created", "field_mapping_profile", pid).after(&made))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
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

/// Runs a profile (the channel's newest, or the rules given) on a sample payload: the order it
/// reads, or the exact rule that fails (422). Writes nothing.
#[utoipa::path(post, path = "/api/v1/channels/{id}/profiles/preview", operation_id = "profiles_preview", tag = "orders",
    params(("id" = Uuid, Path, description = "Channel id")), request_body = PreviewRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "What the profile reads", body = Preview),
        (status = 404, description = "No such channel, or it has no profile", body = crate::Problem),
        (status = 422, description = "The failing rule", body = crate::Problem),
    ))]
pub async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> Result<Json<Preview>, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let channel = channel_of(&tx, &id).await?;
    let (version, rules) = match req.rules {
        Some(r) => {
            check_rules(&r)?;
            (None, r)
        }
        None => {
            let (v, r) = latest(&tx, channel)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("a profile for channel {channel}")))?;
            (Some(v), r)
        }
    };
    tx.commit().await?;
    Ok(Json(Preview { version, order: apply(&rules, &req.payload)? }))
}
