//! API keys of the acting tenant, for its people (keys cannot manage keys): create, list, rotate,
//! revoke. The secret is shown once, when a key is created or rotated.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::identity::model::{
    ApiKey, CreatedApiKey, Error, Principal, check_new_key, check_own_tenant, check_person, grace_period,
};
use crate::identity::service::api_keys as service;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    /// `resource:action[:scope]` permissions, each held by you.
    pub permissions: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates an API key for the acting tenant.
#[utoipa::path(post, path = "/api/v1/api-keys", operation_id = "api_keys_create", tag = "identity",
    security(("bearer" = [])),
    request_body = NewApiKey,
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = CreatedApiKey),
        (status = 403, description = "Needs api_keys:create (and a person: keys cannot make keys)", body = crate::Problem),
        (status = 422, description = "A permission you do not hold, a cross-tenant one, or a past expiry", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    check_person(&principal)?;
    check_own_tenant(&principal)?;
    let permissions = check_new_key(&principal, &req.name, &req.permissions, req.expires_at)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (tenant, user, now) = (principal.tenant, principal.user_id, principal.now);
    let created = service::mint(&tx, tenant, user, &req.name, &permissions, req.expires_at, now).await?;
    let entry = Entry::new("api_key.created", "api_key", created.api_key.id).after(&created.api_key);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiKeyFilter {
    /// `active` (default: usable now, rotating included) or `all`.
    pub status: Option<String>,
}

/// The acting tenant's API keys, newest first (never their secrets).
#[utoipa::path(get, path = "/api/v1/api-keys", operation_id = "api_keys_list", tag = "identity",
    security(("bearer" = [])),
    params(ApiKeyFilter, PageQuery),
    responses((status = 200, description = "One page", body = inline(Page<ApiKey>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<ApiKeyFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    check_person(&principal)?;
    let (limit, cursor) = page.parse()?;
    let all = match f.status.as_deref() {
        None | Some("active") => false,
        Some("all") => true,
        Some(_) => return Err(Error::invalid("query:status", "invalid", "active or all").into()),
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let items = service::list(&tx, &principal, all, cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(Page::of(items, limit, |k: &ApiKey| k.id)))
}

fn key_id(raw: &str) -> Result<Uuid, ApiError> {
    crate::platform::http::path_id(raw, "an API key")
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the old key keeps working (default 86400, at most 604800; 0 stops it at once).
    pub grace_seconds: Option<i64>,
}

/// Issues a successor with the same name, permissions and expiry; the old key works for the grace
/// period, then stops.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", operation_id = "api_keys_rotate", tag = "identity",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    request_body = Rotation,
    responses(
        (status = 201, description = "The successor; `key` is shown this once", body = CreatedApiKey),
        (status = 404, description = "No such key in the acting tenant", body = crate::Problem),
        (status = 409, description = "The key is revoked, expired or already rotated", body = crate::Problem),
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Rotation>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    check_person(&principal)?;
    check_own_tenant(&principal)?;
    let id = key_id(&id)?;
    let grace = grace_period(req.grace_seconds)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (old, created) = service::rotate(&tx, &principal, id, grace).await?;
    let entry = Entry::new("api_key.rotated", "api_key", id).before(&old).after(
        serde_json::json!({ "grace_until": principal.now + grace, "replaced_by": created.api_key.id }),
    );
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a key at once (a rotating one too).
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", operation_id = "api_keys_revoke", tag = "identity",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key in the acting tenant", body = crate::Problem),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_person(&principal)?;
    let id = key_id(&id)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    if let Some(before) = service::revoke(&tx, &principal, id).await? {
        audit::record(&tx, &principal, Entry::new("api_key.revoked", "api_key", id).before(&before)).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
