//! A tenant's settings: the known keys, what each means, its default, and how a value is checked.
//! Unknown keys are refused.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Error;

/// A setting key, what it means, its default, and how a value is checked.
pub struct Known {
    pub key: &'static str,
    pub description: &'static str,
    default: fn() -> Value,
    check: fn(&Value) -> Result<(), String>,
}

impl Known {
    /// Refuses a value this setting cannot take.
    pub fn check(&self, value: &Value) -> Result<(), Error> {
        (self.check)(value).map_err(|m| Error::invalid("value", "invalid", m))
    }
}

fn int_between(v: &Value, lo: i64, hi: i64) -> Result<(), String> {
    match v.as_i64() {
        Some(n) if (lo..=hi).contains(&n) => Ok(()),
        _ => Err(format!("an integer from {lo} to {hi}")),
    }
}

fn us_states(v: &Value) -> Result<(), String> {
    let states = v.as_array().ok_or("a list of US state codes, e.g. [\"KY\", \"CA\"]")?;
    for s in states {
        let code = s.as_str().filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()));
        if code.is_none() {
            return Err(format!("{s} is not a two-letter state code"));
        }
    }
    Ok(())
}

fn emails(v: &Value) -> Result<(), String> {
    let list = v.as_array().ok_or("a list of email addresses")?;
    if list.len() > 20 {
        return Err("at most 20 addresses".into());
    }
    for e in list {
        let ok = e.as_str().is_some_and(|a| {
            let (local, domain) = a.split_once('@').unwrap_or_default();
            !local.is_empty() && domain.contains('.') && a.len() <= 254 && !a.contains([' ', ',', '<', '>'])
        });
        if !ok {
            return Err(format!("{e} is not an email address"));
        }
    }
    Ok(())
}

fn currency_code(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => Ok(()),
        _ => Err("a three-letter ISO 4217 code such as \"USD\"".into()),
    }
}

fn tenant_roles(v: &Value) -> Result<(), String> {
    let roles = v.as_array().ok_or("a list of role codes")?;
    for r in roles {
        let code = r.as_str().ok_or("a list of role codes")?;
        if crate::identity::roles::role(code).is_none() || super::is_platform_role(code) {
            return Err(format!("{code} is not a tenant role"));
        }
    }
    Ok(())
}

static KNOWN: &[Known] = &[
    Known {
        key: "session.idle_timeout_minutes",
        description: "Minutes without a request after which a session ends (new sessions).",
        default: || Value::from(super::DEFAULT_IDLE_MINUTES),
        check: |v| int_between(v, 1, 1440),
    },
    Known {
        key: "rate_limit.read_per_minute",
        description: "Requests per minute for reading routes, across the tenant.",
        default: || Value::from(crate::platform::rate_limit::DEFAULT_READ_PER_MINUTE),
        check: |v| int_between(v, 1, 100_000),
    },
    Known {
        key: "rate_limit.write_per_minute",
        description: "Requests per minute for changing routes, across the tenant.",
        default: || Value::from(crate::platform::rate_limit::DEFAULT_WRITE_PER_MINUTE),
        check: |v| int_between(v, 1, 100_000),
    },
    Known {
        key: "orders.serviceable_states",
        description: "US states orders may ship to (empty: anywhere); others are refused at intake.",
        default: || Value::Array(Vec::new()),
        check: us_states,
    },
    Known {
        key: "orders.currency",
        description: "The currency (ISO 4217) of an order that names none (null: an order must name one).",
        default: || Value::Null,
        check: currency_code,
    },
    Known {
        key: "orders.default_payment_source",
        description: "How an order that names no payment is paid: terms or external (null: an order must say).",
        default: || Value::Null,
        check: |v| match v.as_str() {
            Some("terms" | "external") => Ok(()),
            _ => Err("terms or external".into()),
        },
    },
    Known {
        key: "notifications.operations_emails",
        description: "Who is emailed when something needs the tenant's operations team (a failed payment).",
        default: || Value::Array(Vec::new()),
        check: emails,
    },
    Known {
        key: "payments.capture",
        description: "When authorized money is captured: per_shipment (each shipment's amount as it ships; later shipments are charged on the stored method) or whole (the whole authorization at the first shipment; whatever never ships is refunded).",
        default: || Value::from("per_shipment"),
        check: |v| match v.as_str() {
            Some("per_shipment" | "whole") => Ok(()),
            _ => Err("per_shipment or whole".into()),
        },
    },
    Known {
        key: "orders.stuck_after_minutes",
        description: "How long an order may stay in a state before the sweep raises a stuck_order exception, per state in minutes (at least 5), over the defaults (accepted 15, payment_pending 30, payment_authorized 15, needs_review and inventory_reserved 1440, payment_failed 2880, on_hold and fulfillment_submitted 4320, backordered and partially_shipped 10080, shipped 20160).",
        default: || Value::Object(Default::default()),
        check: |v| {
            // The order states that are not final (the orders context's `OrderStatus::stuck_after`).
            const STATES: &[&str] = &[
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
            ];
            let Some(map) = v.as_object() else { return Err("an object of state: minutes".into()) };
            for (state, minutes) in map {
                if !STATES.contains(&state.as_str()) {
                    return Err(format!("{state} is not an order state that can be stuck"));
                }
                if !minutes.as_i64().is_some_and(|m| (5..=525_600).contains(&m)) {
                    return Err(format!("{state}: whole minutes, 5 to 525600"));
                }
            }
            Ok(())
        },
    },
    Known {
        key: "inventory.short_stock",
        description: "What the reservation step does with units no warehouse has: backorder them (filled as stock arrives) or reject (the order is held for a person).",
        default: || Value::from("backorder"),
        check: |v| match v.as_str() {
            Some("backorder" | "reject") => Ok(()),
            _ => Err("backorder or reject".into()),
        },
    },
    Known {
        key: "mfa.required_roles",
        description: "Roles whose holders must pass a second factor to sign in here.",
        default: || Value::Array(Vec::new()),
        check: tenant_roles,
    },
];

/// The known setting `key` (not found: there is no such setting).
pub fn known_setting(key: &str) -> Result<&'static Known, Error> {
    KNOWN.iter().find(|k| k.key == key).ok_or_else(|| Error::NotFound(format!("setting {key}")))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Setting {
    pub key: &'static str,
    pub description: &'static str,
    /// Any JSON value (a number, a list, a string, null).
    #[schema(value_type = serde_json::Value)]
    pub value: Value,
    /// True when the tenant has not set it (the value shown is the default).
    pub default: bool,
}

/// Every known setting, with the tenant's value from `set` or the default.
pub fn settings_of(set: &HashMap<String, Value>) -> Vec<Setting> {
    KNOWN
        .iter()
        .map(|k| match set.get(k.key) {
            Some(v) => Setting { key: k.key, description: k.description, value: v.clone(), default: false },
            None => Setting { key: k.key, description: k.description, value: (k.default)(), default: true },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_checked_per_key_and_unknown_keys_refused() {
        assert!(known_setting("no.such").is_err());
        let idle = known_setting("session.idle_timeout_minutes").unwrap();
        assert!(idle.check(&json!(30)).is_ok());
        assert!(idle.check(&json!(0)).is_err());
        assert!(idle.check(&json!("30")).is_err());
        let states = known_setting("orders.serviceable_states").unwrap();
        assert!(states.check(&json!(["KY", "CA"])).is_ok());
        assert!(states.check(&json!(["ky"])).is_err());
        let roles = known_setting("mfa.required_roles").unwrap();
        assert!(roles.check(&json!(["TENANT_ADMIN"])).is_ok());
        assert!(roles.check(&json!(["NOBODY"])).is_err());
    }

    #[test]
    fn unset_settings_show_their_defaults() {
        let set = HashMap::from([("rate_limit.read_per_minute".to_string(), json!(7))]);
        let all = settings_of(&set);
        assert_eq!(all.len(), KNOWN.len());
        let read = all.iter().find(|s| s.key == "rate_limit.read_per_minute").unwrap();
        assert_eq!((read.value.clone(), read.default), (json!(7), false));
        let idle = all.iter().find(|s| s.key == "session.idle_timeout_minutes").unwrap();
        assert_eq!((idle.value.clone(), idle.default), (json!(15), true));
    }
}
