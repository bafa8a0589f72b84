//! Reusable payment methods: one-time tokens from the gateways' browser tokenization become vault
//! credentials at the tenant's merchant accounts. The answer shows brand, last four, expiry and
//! which gateways hold the method — never a credential.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::identity::Principal;
use crate::payments::model::{Error, NewPaymentMethod, PaymentMethod, VaultCustomer};
use crate::payments::service;
use crate::platform::audit::{self, Entry};
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
    let tokens = new.check(principal.now)?;
    let tenant = principal.tenant.as_uuid();
    let accounts = {
        let mut conn = state.db().await?.conn().await?;
        let tx = principal.tx(&mut conn).await?;
        service::accounts_for(&tx, tenant).await?
    };
    let id = uuid::Uuid::now_v7();
    let customer = VaultCustomer {
        reference: id.simple().to_string()[..20].to_owned(),
        email: Some(new.customer_email.trim().to_owned()),
        billing: new.billing(),
    };
    let (credentials, not_stored) = service::vault_tokens(&state, &accounts, &tokens, &customer).await;
    if credentials.is_empty() {
        if not_stored.iter().all(|f| matches!(f.outcome.as_str(), "declined" | "refused" | "no_account")) {
            let errors = not_stored
                .iter()
                .map(|f| {
                    crate::FieldError::new(
                        format!("tokens.{}", f.gateway),
                        f.outcome.clone(),
                        f.reason.clone(),
                    )
                })
                .collect();
            return Err(Error::Invalid(errors).into());
        }
        let failed = not_stored.iter().map(|f| f.gateway.to_string()).collect();
        return Err(ApiError::DependenciesUnavailable {
            failed,
            checks: serde_json::to_value(&not_stored).unwrap_or_default(),
        });
    }
    let method = PaymentMethod {
        id,
        customer_email: new.customer_email.trim().to_owned(),
        brand: new.brand.clone(),
        last4: new.last4.clone(),
        exp_month: new.exp_month,
        exp_year: new.exp_year,
        gateways: credentials.iter().map(|c| c.gateway()).collect(),
        can_fail_over: credentials.len() == 2,
        not_stored: Vec::new(),
        created_at: principal.now,
        credentials,
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let mut stored = service::store_method(&tx, tenant, &method).await?;
    let entry = Entry::new("payment_method.created", "payment_method", id).after(&stored);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    stored.not_stored = not_stored;
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
