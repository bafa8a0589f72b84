//! Tenant management for platform staff: create, list, get, update, suspend, reactivate. This is
//! cross-tenant work, so it runs on the operations database role (only these functions hold its
//! credentials) and every access — reads included — is written to the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::identity::model::{
    DEFAULT_IDLE_MINUTES, Principal, Tenant, TenantFields, TenantQuery, check_reason,
};
use crate::identity::service::tenants as service;
use crate::platform::audit::Acting;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

fn tenant_id(raw: &str) -> Result<Uuid, ApiError> {
    crate::platform::http::path_id(raw, "a tenant")
}

/// Records `entry` in tenant `id`'s audit log, as the platform principal.
async fn audit_in(
    tx: &tokio_postgres::Transaction<'_>,
    principal: &Principal,
    id: Uuid,
    entry: Entry,
) -> Result<(), ApiError> {
    audit::record_as(tx, Some(TenantId::from_uuid(id)), &principal.actor(), principal.now, entry).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    /// Default `clinic`.
    pub kind: Option<String>,
    /// Default 15.
    pub idle_timeout_minutes: Option<i64>,
}

/// Creates a tenant.
#[utoipa::path(post, path = "/api/v1/tenants", operation_id = "tenants_create", tag = "tenants", security(("bearer" = [])),
    request_body = NewTenant,
    responses(
        (status = 201, description = "Created", body = Tenant),
        (status = 403, description = "Needs tenants:create:all", body = crate::Problem),
        (status = 409, description = "The slug is taken", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    let fields = TenantFields {
        slug: Some(req.slug.as_str()),
        name: Some(req.name.as_str()),
        kind: Some(req.kind.as_deref().unwrap_or("clinic")),
        idle_timeout_minutes: Some(req.idle_timeout_minutes.unwrap_or(DEFAULT_IDLE_MINUTES)),
    };
    fields.check()?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let created = service::create(&tx, fields, principal.now).await?;
    audit_in(&tx, &principal, created.id, Entry::new("tenant.created", "tenant", created.id).after(&created))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    /// Part of the name or slug, any case.
    pub q: Option<String>,
}

/// Lists tenants, newest first.
#[utoipa::path(get, path = "/api/v1/tenants", operation_id = "tenants_list", tag = "tenants", security(("bearer" = [])),
    params(TenantFilter, PageQuery),
    responses(
        (status = 200, description = "One page", body = inline(Page<Tenant>)),
        (status = 403, description = "Needs tenants:read:all", body = crate::Problem),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<TenantFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Tenant>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let filter = TenantQuery {
        status: f.status.as_deref(),
        kind: f.kind.as_deref(),
        like: f.q.as_deref().map(crate::platform::pagination::contains_pattern),
    };
    let items = service::list(&tx, &filter, cursor, limit).await?;
    let entry = Entry::new("tenant.listed", "tenant", "*")
        .after(serde_json::json!({ "status": f.status, "kind": f.kind, "q": f.q, "count": items.len().min(limit as usize) }));
    audit::record_as(&tx, None, &principal.actor(), principal.now, entry).await?;
    tx.commit().await?;
    Ok(Json(Page::of(items, limit, |t: &Tenant| t.id)))
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", operation_id = "tenants_get", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant", body = Tenant),
        (status = 404, description = "No such tenant", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    let id = tenant_id(&id)?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let found = service::get(&tx, id, false).await?;
    audit_in(&tx, &principal, id, Entry::new("tenant.viewed", "tenant", id)).await?;
    tx.commit().await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub idle_timeout_minutes: Option<i64>,
}

/// Changes a tenant's name, kind or session idle timeout.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", operation_id = "tenants_update", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Tenant id")),
    request_body = TenantPatch,
    responses(
        (status = 200, description = "Updated", body = Tenant),
        (status = 404, description = "No such tenant", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TenantPatch>,
) -> Result<Json<Tenant>, ApiError> {
    let id = tenant_id(&id)?;
    let patch = TenantFields {
        slug: None,
        name: req.name.as_deref(),
        kind: req.kind.as_deref(),
        idle_timeout_minutes: req.idle_timeout_minutes,
    };
    patch.check()?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let (before, after) = service::update(&tx, id, patch, principal.now).await?;
    let entry = Entry::new("tenant.updated", "tenant", id).before(&before).after(&after);
    audit_in(&tx, &principal, id, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// Why (kept in the audit log).
    pub reason: Option<String>,
}

async fn set_status(
    state: &AppState,
    principal: &Principal,
    id: &str,
    status: &str,
    action: &'static str,
    reason: Option<String>,
) -> Result<Json<Tenant>, ApiError> {
    let id = tenant_id(id)?;
    check_reason(reason.as_deref())?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let (before, after) = service::set_status(&tx, id, status, principal.now).await?;
    let entry = Entry::new(action, "tenant", id)
        .before(serde_json::json!({ "status": before.status }))
        .after(serde_json::json!({ "status": after.status, "reason": reason }));
    audit_in(&tx, principal, id, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Suspends a tenant: every token of its sessions stops working at its next request.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/suspend", operation_id = "tenants_suspend", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Tenant id")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "Suspended", body = Tenant),
        (status = 404, description = "No such tenant", body = crate::Problem),
        (status = 409, description = "The platform tenant cannot be suspended", body = crate::Problem),
    ))]
pub async fn suspend(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StatusChange>,
) -> Result<Json<Tenant>, ApiError> {
    set_status(&state, &principal, &id, "suspended", "tenant.suspended", req.reason).await
}

/// Reactivates a suspended tenant (its users sign in again; ended sessions stay ended).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/reactivate", operation_id = "tenants_reactivate", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Tenant id")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "Active", body = Tenant),
        (status = 404, description = "No such tenant", body = crate::Problem),
        (status = 409, description = "The tenant is not suspended", body = crate::Problem),
    ))]
pub async fn reactivate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StatusChange>,
) -> Result<Json<Tenant>, ApiError> {
    set_status(&state, &principal, &id, "active", "tenant.reactivated", req.reason).await
}
