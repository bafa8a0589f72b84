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
use crate::identity::principal::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;
use crate::platform::validate::check;

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

const SELECT: &str =
    "SELECT a.id, a.customer_key, a.product_id, p.sku, a.reference, a.approved_at, a.expires_at,
        a.revoked_at, a.created_at
   FROM customer_approvals a JOIN products p ON p.id = a.product_id";

fn approval(r: &tokio_postgres::Row) -> Approval {
    Approval {
        id: r.get(0),
        customer_email: r.get(1),
        product_id: r.get(2),
        platform_sku: r.get(3),
        reference: r.get(4),
        approved_at: r.get(5),
        expires_at: r.get(6),
        revoked_at: r.get(7),
        created_at: r.get(8),
    }
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
    let gated: bool =
        tx.query_one("SELECT approval_gated FROM products WHERE id = $1", &[&product]).await?.get(0);
    if !gated {
        return Err(ApiError::Validation(vec![FieldError::new(
            "platform_sku",
            "not_approval_gated",
            format!("{sku} needs no approval"),
        )]));
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO customer_approvals (id, tenant_id, customer_key, product_id, reference, approved_at, expires_at,
                                         created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[&id, &principal.tenant.as_uuid(), &email, &product, &req.reference, &from, &req.expires_at, &principal.user_id, &principal.now],
    )
    .await?;
    let made = crate::platform::db::by_id(&tx, SELECT, "a", id, false, "approval", approval).await?;
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
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE a.tenant_id = $1 AND ($2::text IS NULL OR a.customer_key = $2)
                   AND ($3::text IS NULL OR lower(p.sku) = lower($3)) AND ($4::uuid IS NULL OR a.id < $4)
                 ORDER BY a.id DESC LIMIT $5"
            ),
            &[&principal.tenant.as_uuid(), &email, &f.platform_sku, &cursor, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(approval).collect(), limit, |a: &Approval| a.id)))
}
