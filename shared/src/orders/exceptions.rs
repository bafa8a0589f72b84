//! The exceptions store's routes: what needs a person (intake holds now; payments, stock and
//! fulfilment later), with counts by kind, and resolving one.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::identity::principal::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::PageQuery;
use crate::platform::state::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Exception {
    pub id: Uuid,
    pub kind: String,
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    pub order_id: Option<Uuid>,
    pub source: String,
    pub detail: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub resolution: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

const SELECT: &str =
    "SELECT e.id, e.kind, e.severity, e.status, e.order_id, e.source, e.error, e.details, e.resolution,
        e.created_at, e.resolved_at
   FROM exception_records e";

fn exception(r: &tokio_postgres::Row) -> Exception {
    Exception {
        id: r.get(0),
        kind: r.get(1),
        severity: r.get(2),
        status: r.get(3),
        order_id: r.get(4),
        source: r.get(5),
        detail: r.get(6),
        details: r.get(7),
        resolution: r.get(8),
        created_at: r.get(9),
        resolved_at: r.get(10),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionFilter {
    pub kind: Option<String>,
    /// `open` (default) or `resolved`.
    pub status: Option<String>,
    pub order_id: Option<Uuid>,
    pub severity: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionPage {
    pub items: Vec<Exception>,
    pub next_cursor: Option<String>,
    /// Exceptions matching the filter (all pages), by kind.
    pub counts: BTreeMap<String, i64>,
}

/// The acting tenant's exceptions, newest first, with counts by kind.
#[utoipa::path(get, path = "/api/v1/admin/exceptions", operation_id = "exceptions_list", tag = "orders",
    params(ExceptionFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page and the counts", body = ExceptionPage)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<ExceptionFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ExceptionPage>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let status = f.status.clone().unwrap_or_else(|| "open".into());
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let filter = "e.tenant_id = $1 AND e.status = $2 AND ($3::text IS NULL OR e.kind = $3)
                  AND ($4::uuid IS NULL OR e.order_id = $4) AND ($5::text IS NULL OR e.severity = $5)";
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE {filter} AND ($6::uuid IS NULL OR e.id < $6) ORDER BY e.id DESC LIMIT $7"
            ),
            &[&principal.tenant.as_uuid(), &status, &f.kind, &f.order_id, &f.severity, &cursor, &(limit + 1)],
        )
        .await?;
    let counts = tx
        .query(
            &format!("SELECT e.kind, count(*) FROM exception_records e WHERE {filter} GROUP BY e.kind"),
            &[&principal.tenant.as_uuid(), &status, &f.kind, &f.order_id, &f.severity],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    tx.commit().await?;
    let page = crate::platform::pagination::Page::of(
        rows.iter().map(exception).collect(),
        limit,
        |e: &Exception| e.id,
    );
    Ok(Json(ExceptionPage { items: page.items, next_cursor: page.next_cursor, counts }))
}

/// One exception of the acting tenant, with its details.
#[utoipa::path(get, path = "/api/v1/admin/exceptions/{id}", operation_id = "exceptions_get", tag = "orders",
    params(("id" = Uuid, Path, description = "Exception id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The exception", body = Exception),
        (status = 404, description = "No such exception", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Exception>, ApiError> {
    let id = path_id(&id, "an exception")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let found = crate::platform::db::by_id(&tx, SELECT, "e", id, false, "exception", exception).await?;
    tx.commit().await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    /// What was done about it.
    pub resolution: String,
}

/// Marks an exception resolved, saying how. Audited.
#[utoipa::path(post, path = "/api/v1/admin/exceptions/{id}/resolve", operation_id = "exceptions_resolve", tag = "orders",
    params(("id" = Uuid, Path, description = "Exception id")), request_body = Resolve, security(("bearer" = [])),
    responses(
        (status = 200, description = "Resolved", body = Exception),
        (status = 404, description = "No such exception", body = crate::Problem),
        (status = 409, description = "Already resolved", body = crate::Problem),
    ))]
pub async fn resolve(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Resolve>,
) -> Result<Json<Exception>, ApiError> {
    let id = path_id(&id, "an exception")?;
    let resolution = req.resolution.trim().to_owned();
    if resolution.is_empty() || resolution.chars().count() > 2000 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "resolution",
            "invalid",
            "1 to 2000 characters",
        )]));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = crate::platform::db::by_id(&tx, SELECT, "e", id, true, "exception", exception).await?;
    if before.status == "resolved" {
        return Err(ApiError::Conflict {
            code: "already_resolved",
            detail: format!("exception {id} is resolved"),
        });
    }
    tx.execute(
        "UPDATE exception_records SET status = 'resolved', resolution = $2, resolved_by = $3, resolved_at = $4 WHERE id = $1",
        &[&id, &resolution, &principal.user_id, &principal.now],
    )
    .await?;
    let after = crate::platform::db::by_id(&tx, SELECT, "e", id, false, "exception", exception).await?;
    audit::record(
        &tx,
        &principal,
        Entry::new("exception.resolved", "exception", id).before(&before).after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}
