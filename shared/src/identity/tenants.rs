//! Tenant management for platform staff: create, list, get, update, suspend, reactivate. This is
//! cross-tenant work, so it runs on the operations database role (only these functions hold its
//! credentials) and every access — reads included — is written to the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::identity::Principal;
use crate::identity::model::{DEFAULT_IDLE_MINUTES, IDLE_SETTING};
use crate::platform::audit::Acting;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const KINDS: &[&str] = &["clinic", "partner_brand", "reseller", "vendor", "platform"];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// clinic, partner_brand, reseller, vendor or platform.
    pub kind: String,
    /// active, suspended or closed.
    pub status: String,
    /// Minutes of inactivity after which a session ends.
    pub idle_timeout_minutes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT t.id, t.slug, t.name, t.kind, t.status,
        COALESCE((SELECT CASE WHEN jsonb_typeof(s.value) = 'number' THEN (s.value #>> '{}')::numeric::bigint END
                   FROM tenant_settings s
                   WHERE s.tenant_id = t.id AND s.key = 'session.idle_timeout_minutes'), 15),
        t.created_at, t.updated_at
   FROM tenants t";

fn tenant(r: &Row) -> Tenant {
    Tenant {
        id: r.get(0),
        slug: r.get(1),
        name: r.get(2),
        kind: r.get(3),
        status: r.get(4),
        idle_timeout_minutes: r.get(5),
        created_at: r.get(6),
        updated_at: r.get(7),
    }
}

fn check_fields(
    slug: Option<&str>,
    name: Option<&str>,
    kind: Option<&str>,
    idle: Option<i64>,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Some(slug) = slug {
        let ok = (2..=63).contains(&slug.len())
            && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-');
        if !ok {
            errors.push(FieldError::new(
                "slug",
                "invalid",
                "2-63 of a-z, 0-9 and '-', not starting with '-'",
            ));
        }
    }
    if name.is_some_and(|n| n.trim().is_empty() || n.chars().count() > 200) {
        errors.push(FieldError::new("name", "invalid", "1 to 200 characters"));
    }
    if kind.is_some_and(|k| !KINDS.contains(&k)) {
        errors.push(FieldError::new("kind", "invalid", format!("one of {}", KINDS.join(", "))));
    }
    if idle.is_some_and(|m| !(1..=1440).contains(&m)) {
        errors.push(FieldError::new("idle_timeout_minutes", "out_of_range", "1 to 1440"));
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

async fn set_idle(
    tx: &tokio_postgres::Transaction<'_>,
    id: Uuid,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO tenant_settings (tenant_id, key, value, updated_at) VALUES ($1, $2, to_jsonb($3::bigint), $4)
         ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        &[&id, &IDLE_SETTING, &minutes, &now],
    )
    .await?;
    Ok(())
}

async fn load(tx: &tokio_postgres::Transaction<'_>, id: Uuid, lock: bool) -> Result<Tenant, ApiError> {
    let sql = format!("{SELECT} WHERE t.id = $1{}", if lock { " FOR UPDATE OF t" } else { "" });
    tx.query_opt(&sql, &[&id])
        .await?
        .map(|r| tenant(&r))
        .ok_or_else(|| ApiError::NotFound(format!("tenant {id}")))
}

fn tenant_id(raw: &str) -> Result<Uuid, ApiError> {
    crate::platform::http::path_id(raw, "a tenant")
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
    let kind = req.kind.unwrap_or_else(|| "clinic".into());
    let idle = req.idle_timeout_minutes.unwrap_or(DEFAULT_IDLE_MINUTES);
    check_fields(Some(&req.slug), Some(&req.name), Some(&kind), Some(idle))?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let id = Uuid::now_v7();
    let inserted = tx
        .execute(
            "INSERT INTO tenants (id, slug, name, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (slug) DO NOTHING",
            &[&id, &req.slug, &req.name.trim(), &kind, &principal.now],
        )
        .await?;
    if inserted == 0 {
        return Err(ApiError::Conflict {
            code: "slug_taken",
            detail: format!("a tenant has the slug {:?}", req.slug),
        });
    }
    set_idle(&tx, id, idle, principal.now).await?;
    let created = load(&tx, id, false).await?;
    audit::record_as(
        &tx,
        Some(TenantId::from_uuid(id)),
        &principal.actor(),
        principal.now,
        Entry::new("tenant.created", "tenant", id).after(&created),
    )
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
    let like = f.q.as_deref().map(crate::platform::pagination::contains_pattern);
    let sql = format!(
        "{SELECT} WHERE ($1::text IS NULL OR t.status = $1) AND ($2::text IS NULL OR t.kind = $2)
            AND ($3::text IS NULL OR t.name ILIKE $3 OR t.slug ILIKE $3) AND ($4::uuid IS NULL OR t.id < $4)
          ORDER BY t.id DESC LIMIT $5"
    );
    let rows = tx.query(&sql, &[&f.status, &f.kind, &like, &cursor, &(limit + 1)]).await?;
    let items: Vec<Tenant> = rows.iter().map(tenant).collect();
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
    let found = load(&tx, id, false).await?;
    audit::record_as(
        &tx,
        Some(TenantId::from_uuid(id)),
        &principal.actor(),
        principal.now,
        Entry::new("tenant.viewed", "tenant", id),
    )
    .await?;
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
    check_fields(None, req.name.as_deref(), req.kind.as_deref(), req.idle_timeout_minutes)?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let before = load(&tx, id, true).await?;
    tx.execute(
        "UPDATE tenants SET name = COALESCE($2, name), kind = COALESCE($3, kind), updated_at = $4 WHERE id = $1",
        &[&id, &req.name.as_deref().map(str::trim), &req.kind, &principal.now],
    )
    .await?;
    if let Some(m) = req.idle_timeout_minutes {
        set_idle(&tx, id, m, principal.now).await?;
    }
    let after = load(&tx, id, false).await?;
    audit::record_as(
        &tx,
        Some(TenantId::from_uuid(id)),
        &principal.actor(),
        principal.now,
        Entry::new("tenant.updated", "tenant", id).before(&before).after(&after),
    )
    .await?;
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
    if reason.as_deref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "reason",
            "too_long",
            "at most 500 characters",
        )]));
    }
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let before = load(&tx, id, true).await?;
    if before.kind == "platform" && status != "active" {
        return Err(ApiError::Conflict {
            code: "platform_tenant",
            detail: "the platform tenant cannot be suspended".into(),
        });
    }
    if status == "active" && before.status != "suspended" {
        return Err(ApiError::Conflict {
            code: "not_suspended",
            detail: format!("only a suspended tenant is reactivated; this one is {}", before.status),
        });
    }
    tx.execute(
        "UPDATE tenants SET status = $2, updated_at = $3 WHERE id = $1",
        &[&id, &status, &principal.now],
    )
    .await?;
    let after = load(&tx, id, false).await?;
    let entry = Entry::new(action, "tenant", id)
        .before(serde_json::json!({ "status": before.status }))
        .after(serde_json::json!({ "status": after.status, "reason": reason }));
    audit::record_as(&tx, Some(TenantId::from_uuid(id)), &principal.actor(), principal.now, entry).await?;
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
