//! Customer approvals for approval-gated products, registered by the tenant's own system (no
//! clinical data: who, which product, from when until when, the tenant's reference). Intake
//! refuses a gated product for a customer without a valid, unexpired one (`APPROVAL_REQUIRED`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::catalog::customer_key;
use crate::catalog::require_sellable;
use crate::identity::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;
use crate::platform::validate::check;

use crate::orders::store::approvals as store;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Approval {
    pub id: Uuid,
    pub customer_email: String,
    pub product_id: Uuid,
    pub platform_sku: String,
    pub reference: Option<String>,
    pub approved_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

async fn with_skus(
    tx: &tokio_postgres::Transaction<'_>,
    rows: Vec<Approval>,
) -> Result<Vec<Approval>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|a| a.product_id).collect();
    let skus = crate::catalog::product_skus(tx, &ids).await.map_err(ApiError::from)?;
    Ok(rows
        .into_iter()
        .map(|mut a| {
            a.platform_sku = skus.get(&a.product_id).cloned().unwrap_or_default();
            a
        })
        .collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApproval {
    pub customer_email: String,
    /// The approval-gated platform product.
    pub platform_sku: String,
    /// Default: now.
    pub approved_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// The tenant's own reference for it.
    pub reference: Option<String>,
}

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
    let mut errors = Vec::new();
    let email = customer_key(&req.customer_email);
    if !email.contains('@') || email.len() > 320 || email.len() < 3 {
        errors.push(FieldError::new("customer_email", "invalid", "an email address"));
    }
    let from = req.approved_at.unwrap_or(principal.now);
    if req.expires_at <= from {
        errors.push(FieldError::new("expires_at", "invalid", "after approved_at"));
    }
    if req.reference.as_ref().is_some_and(|r| r.chars().count() > 200) {
        errors.push(FieldError::new("reference", "too_long", "at most 200 characters"));
    }
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (product, sku) = require_sellable(&tx, &req.platform_sku, "platform_sku").await?;
    let gated = crate::catalog::approval_gated(&tx, product).await.map_err(ApiError::from)?;
    if gated != Some(true) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "platform_sku",
            "not_approval_gated",
            format!("{sku} needs no approval"),
        )]));
    }
    let id = Uuid::now_v7();
    store::insert(
        &tx,
        principal.tenant,
        id,
        &email,
        product,
        req.reference.as_deref(),
        from,
        req.expires_at,
        principal.user_id,
        principal.now,
    )
    .await?;
    let made = store::get(&tx, id).await?.ok_or_else(|| ApiError::NotFound(format!("approval {id}")))?;
    let made = with_skus(&tx, vec![made]).await?.remove(0);
    audit::record(&tx, &principal, Entry::new("approval.registered", "approval", id).after(&made)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalFilter {
    pub customer_email: Option<String>,
    pub platform_sku: Option<String>,
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
    let email = f.customer_email.as_deref().map(customer_key);
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let product = match f.platform_sku.as_deref() {
        Some(sku) => match crate::catalog::product_by_sku(&tx, sku).await.map_err(ApiError::from)? {
            Some(p) => Some(p),
            None => return Ok(Json(Page::of(Vec::new(), limit, |a: &Approval| a.id))),
        },
        None => None,
    };
    let rows = store::list(&tx, principal.tenant, email.as_deref(), product, limit, cursor).await?;
    let rows = with_skus(&tx, rows).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |a: &Approval| a.id)))
}
