//! Customer approvals for approval-gated products, registered by the tenant's own system.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::identity::Principal;
use crate::orders::model::{Approval, ApprovalFilter, NewApproval};
use crate::orders::service::approvals as service;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;

/// Registers that a customer may order an approval-gated product until `expires_at`.
#[utoipa::path(post, path = "/api/v1/approvals", operation_id = "approvals_create", tag = "orders",
    request_body = NewApproval, security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = Approval),
        (status = 422, description = "Invalid fields, or not an approval-gated product", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewApproval>,
) -> Result<(StatusCode, Json<Approval>), ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let made = service::register(&tx, principal.tenant, principal.user_id, &req, principal.now).await?;
    audit::record(&tx, &principal, Entry::new("approval.registered", "approval", made.id).after(&made))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// The acting tenant's registered approvals, newest first.
#[utoipa::path(get, path = "/api/v1/approvals", operation_id = "approvals_list", tag = "orders",
    params(ApprovalFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = inline(Page<Approval>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<ApprovalFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Approval>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = service::list(&tx, principal.tenant, &f, limit, cursor).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |a: &Approval| a.id)))
}
