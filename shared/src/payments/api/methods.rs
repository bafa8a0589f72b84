//! Reusable payment methods: one-time tokens from the gateways' browser tokenization become vault
//! credentials at the tenant's merchant accounts. The answer shows brand, last four, expiry and
//! which gateways hold the method — never a credential.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::identity::Principal;
use crate::payments::model::{NewPaymentMethod, PaymentMethod};
use crate::payments::service;
use crate::platform::audit::Acting;
use crate::platform::error::ApiError;
use crate::platform::http::ApiJson;
use crate::platform::state::AppState;

/// Stores a customer's payment method in the gateways' vaults (from one-time tokens), so later
/// charges — days later, or at the other gateway — need no new token.
#[utoipa::path(post, path = "/api/v1/payment-methods", operation_id = "payment_methods_create", tag = "payments",
    security(("bearer" = [])), request_body = NewPaymentMethod,
    responses(
        (status = 201, description = "Stored at every gateway listed in `gateways`; `not_stored` names the others", body = PaymentMethod),
        (status = 422, description = "Invalid fields, or every gateway declined or refused the tokens (a used or expired token)", body = crate::Problem),
        (status = 503, description = "No gateway could store it (unreachable, refused, or unknown): nothing stored", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewPaymentMethod>,
) -> Result<(StatusCode, Json<PaymentMethod>), ApiError> {
    let db = state.db().await?;
    let stored = service::create_method(&state, db, principal.tenant, &principal.actor(), &new).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// A stored payment method of the acting tenant.
#[utoipa::path(get, path = "/api/v1/payment-methods/{id}", operation_id = "payment_methods_get", tag = "payments",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "The payment method")),
    responses((status = 200, description = "The method", body = PaymentMethod)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PaymentMethod>, ApiError> {
    let id = crate::platform::http::path_id(&id, "a payment method")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    Ok(Json(service::method(&tx, id).await?))
}
