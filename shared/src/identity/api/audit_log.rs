//! The audit trail's read route (the entries are written through [`crate::platform::audit`]).

use axum::Json;
use axum::extract::State;

use crate::identity::model::Principal;
use crate::platform::audit::{self, AuditFilter, AuditRecord};
use crate::platform::error::ApiError;
use crate::platform::http::ApiQuery;
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;

/// The acting tenant's audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", operation_id = "audit_list", tag = "identity",
    params(AuditFilter, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of entries", body = inline(Page<AuditRecord>)),
        (status = 401, description = "Not signed in", body = crate::Problem),
        (status = 403, description = "Needs audit:read", body = crate::Problem),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<AuditFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<AuditRecord>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let items = audit::query(&tx, &f, limit, cursor).await?;
    tx.commit().await?;
    Ok(Json(Page::of(items, limit, |r: &AuditRecord| r.id)))
}
