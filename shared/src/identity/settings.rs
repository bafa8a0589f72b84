//! A tenant's settings, for its admins: the session idle timeout, the rate limits per route class,
//! and the roles that must pass a second factor. Each key is validated; unknown keys are refused.
//! Changes are audited and take effect on the next request (the idle timeout: on new sessions).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::identity::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::ApiJson;
use crate::platform::state::AppState;

/// A setting key, what it means, its default, and how a value is checked.
struct Known {
    key: &'static str,
    description: &'static str,
    default: fn() -> Value,
    check: fn(&Value) -> Result<(), String>,
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

fn tenant_roles(v: &Value) -> Result<(), String> {
    let roles = v.as_array().ok_or("a list of role codes")?;
    for r in roles {
        let code = r.as_str().ok_or("a list of role codes")?;
        if crate::identity::roles::role(code).is_none() || crate::identity::model::is_platform_role(code) {
            return Err(format!("{code} is not a tenant role"));
        }
    }
    Ok(())
}

static KNOWN: &[Known] = &[
    Known {
        key: "session.idle_timeout_minutes",
        description: "Minutes without a request after which a session ends (new sessions).",
        default: || Value::from(crate::identity::model::DEFAULT_IDLE_MINUTES),
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
        key: "mfa.required_roles",
        description: "Roles whose holders must pass a second factor to sign in here.",
        default: || Value::Array(Vec::new()),
        check: tenant_roles,
    },
];

#[derive(Debug, Serialize, ToSchema)]
pub struct Setting {
    pub key: &'static str,
    pub description: &'static str,
    #[schema(value_type = Object)]
    pub value: Value,
    /// True when the tenant has not set it (the value shown is the default).
    pub default: bool,
}

async fn current(tx: &tokio_postgres::Transaction<'_>, p: &Principal) -> Result<Vec<Setting>, ApiError> {
    let rows = tx
        .query("SELECT key, value FROM tenant_settings WHERE tenant_id = $1", &[&p.tenant.as_uuid()])
        .await?;
    let set: std::collections::HashMap<String, Value> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(KNOWN
        .iter()
        .map(|k| match set.get(k.key) {
            Some(v) => Setting { key: k.key, description: k.description, value: v.clone(), default: false },
            None => Setting { key: k.key, description: k.description, value: (k.default)(), default: true },
        })
        .collect())
}

/// The acting tenant's settings (set or default).
#[utoipa::path(get, path = "/api/v1/settings", operation_id = "settings_list", tag = "tenants",
    security(("bearer" = [])),
    responses((status = 200, description = "Every setting", body = Vec<Setting>)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<Setting>>, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let out = current(&tx, &principal).await?;
    tx.commit().await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingValue {
    #[schema(value_type = Object)]
    pub value: Value,
}

/// Sets one of the acting tenant's settings.
#[utoipa::path(put, path = "/api/v1/settings/{key}", operation_id = "settings_put", tag = "tenants",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "e.g. rate_limit.read_per_minute")),
    request_body = SettingValue,
    responses(
        (status = 200, description = "Saved", body = Setting),
        (status = 404, description = "No such setting", body = crate::Problem),
        (status = 422, description = "Not a valid value for it", body = crate::Problem),
    ))]
pub async fn put(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    ApiJson(req): ApiJson<SettingValue>,
) -> Result<Json<Setting>, ApiError> {
    let known =
        KNOWN.iter().find(|k| k.key == key).ok_or_else(|| ApiError::NotFound(format!("setting {key}")))?;
    (known.check)(&req.value)
        .map_err(|m| ApiError::Validation(vec![FieldError::new("value", "invalid", m)]))?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = current(&tx, &principal).await?.into_iter().find(|s| s.key == known.key);
    tx.execute(
        "INSERT INTO tenant_settings (tenant_id, key, value, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        &[&principal.tenant.as_uuid(), &known.key, &req.value, &principal.now],
    )
    .await?;
    let after = Setting { key: known.key, description: known.description, value: req.value, default: false };
    let entry = Entry::new("tenant.setting_changed", "setting", known.key)
        .before(before.map(|b| b.value))
        .after(&after.value);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
/// The tenant's value for setting `key`, when it set one (other contexts read settings only here).
pub async fn tenant_setting(
    tx: &tokio_postgres::Transaction<'_>,
    tenant: crate::platform::tenant::TenantId,
    key: &str,
) -> Result<Option<serde_json::Value>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT value FROM tenant_settings WHERE tenant_id = $1 AND key = $2",
            &[&tenant.as_uuid(), &key],
        )
        .await?
        .map(|r| r.get(0)))
}
