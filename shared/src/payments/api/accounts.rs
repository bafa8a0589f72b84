//! Payment configuration for platform staff: the platform's merchant accounts at NMI and
//! Authorize.net, the account sets that charge together, and which set a tenant is charged
//! through. Cross-tenant work on the operations role; every change is audited. Credentials are
//! Secrets Manager references: no route takes or returns a credential.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::identity::Principal;
use crate::payments::model::{
    AccountFields, AccountSet, AssignAccounts, MerchantAccount, NewAccountSet, TenantAccounts,
};
use crate::payments::service;
use crate::platform::audit::{self, Acting, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::ApiJson;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// Adds a merchant account.
#[utoipa::path(post, path = "/api/v1/admin/payments/merchant-accounts", operation_id = "payments_accounts_create",
    tag = "payments", security(("bearer" = [])), request_body = AccountFields,
    responses(
        (status = 201, description = "Added", body = MerchantAccount),
        (status = 409, description = "An account with this name exists", body = crate::Problem),
    ))]
pub async fn create_account(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(fields): ApiJson<AccountFields>,
) -> Result<(StatusCode, Json<MerchantAccount>), ApiError> {
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let created = service::create_account(&tx, &fields, principal.now).await?;
    let entry =
        Entry::new("payments.merchant_account_created", "merchant_account", created.id).after(&created);
    audit::record_as(&tx, None, &principal.actor(), principal.now, entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Lists the merchant accounts.
#[utoipa::path(get, path = "/api/v1/admin/payments/merchant-accounts", operation_id = "payments_accounts_list",
    tag = "payments", security(("bearer" = [])),
    responses((status = 200, description = "Every account, by gateway and name", body = [MerchantAccount])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    _principal: Principal,
) -> Result<Json<Vec<MerchantAccount>>, ApiError> {
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    Ok(Json(service::accounts(&tx).await?))
}

/// Changes a merchant account: its name, base URL, credentials secret, or enabled flag.
#[utoipa::path(patch, path = "/api/v1/admin/payments/merchant-accounts/{id}", operation_id = "payments_accounts_update",
    tag = "payments", security(("bearer" = [])), request_body = AccountFields,
    params(("id" = uuid::Uuid, Path, description = "The account")),
    responses(
        (status = 200, description = "Changed", body = MerchantAccount),
        (status = 409, description = "An account with this name exists", body = crate::Problem),
    ))]
pub async fn update_account(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(fields): ApiJson<AccountFields>,
) -> Result<Json<MerchantAccount>, ApiError> {
    let id = crate::platform::http::path_id(&id, "a merchant account")?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let (before, after) = service::update_account(&tx, id, &fields, principal.now).await?;
    let entry =
        Entry::new("payments.merchant_account_updated", "merchant_account", id).before(&before).after(&after);
    audit::record_as(&tx, None, &principal.actor(), principal.now, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Adds an account set: the accounts that charge together and which gateway is tried first.
#[utoipa::path(post, path = "/api/v1/admin/payments/account-sets", operation_id = "payments_sets_create",
    tag = "payments", security(("bearer" = [])), request_body = NewAccountSet,
    responses(
        (status = 201, description = "Added", body = AccountSet),
        (status = 409, description = "A set with this name exists", body = crate::Problem),
    ))]
pub async fn create_set(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewAccountSet>,
) -> Result<(StatusCode, Json<AccountSet>), ApiError> {
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let created = service::create_set(&tx, &new, principal.now).await?;
    let entry = Entry::new("payments.account_set_created", "account_set", created.id).after(&created);
    audit::record_as(&tx, None, &principal.actor(), principal.now, entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Lists the account sets.
#[utoipa::path(get, path = "/api/v1/admin/payments/account-sets", operation_id = "payments_sets_list",
    tag = "payments", security(("bearer" = [])),
    responses((status = 200, description = "Every set, by name", body = [AccountSet])))]
pub async fn list_sets(
    State(state): State<AppState>,
    _principal: Principal,
) -> Result<Json<Vec<AccountSet>>, ApiError> {
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    Ok(Json(service::sets(&tx).await?))
}

/// What a tenant is charged through: its own account set, or the platform default.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{id}/payment-accounts", operation_id = "payments_tenant_get",
    tag = "payments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tenant")),
    responses((status = 200, description = "The tenant's accounts", body = TenantAccounts)))]
pub async fn tenant_accounts(
    State(state): State<AppState>,
    _principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<TenantAccounts>, ApiError> {
    let id = crate::platform::http::path_id(&id, "a tenant")?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    Ok(Json(service::for_tenant(&tx, id).await?))
}

/// Assigns a tenant its own account set (its own descriptor), or (`null`) returns it to the
/// platform default.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{id}/payment-accounts", operation_id = "payments_tenant_assign",
    tag = "payments", security(("bearer" = [])), request_body = AssignAccounts,
    params(("id" = uuid::Uuid, Path, description = "The tenant")),
    responses((status = 200, description = "The tenant's accounts now", body = TenantAccounts)))]
pub async fn assign(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignAccounts>,
) -> Result<Json<TenantAccounts>, ApiError> {
    let id = crate::platform::http::path_id(&id, "a tenant")?;
    let mut conn = state.ops_db().await?.conn().await?;
    let tx = conn.transaction().await?;
    let before = service::for_tenant(&tx, id).await?;
    let after = service::assign(&tx, id, req.account_set_id, principal.now).await?;
    let entry = Entry::new("payments.tenant_accounts_assigned", "tenant", id).before(&before).after(&after);
    audit::record_as(&tx, Some(TenantId::from_uuid(id)), &principal.actor(), principal.now, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
