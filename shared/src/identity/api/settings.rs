//! A tenant's settings, for its admins: the session idle timeout, the rate limits per route class,
//! and the roles that must pass a second factor. Each key is validated; unknown keys are refused.
//! Changes are audited and take effect on the next request (the idle timeout: on new sessions).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::identity::model::{Principal, Setting};
use crate::identity::service::settings as service;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::ApiJson;
use crate::platform::state::AppState;

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
    let out = service::list(&tx, &principal).await?;
    tx.commit().await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingValue {
    /// Any JSON value (a number, a list, a string, null).
    #[schema(value_type = serde_json::Value)]
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
    crate::identity::model::known_setting(&key)?.check(&req.value)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (before, after) = service::put(&tx, &principal, &key, req.value).await?;
    let entry = Entry::new("tenant.setting_changed", "setting", after.key).before(before).after(&after.value);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
