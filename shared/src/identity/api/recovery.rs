//! The links people receive by email: password reset and invitation acceptance (public routes).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::model::parse_secret;
use crate::identity::model::{Email, check_display_name};
use crate::identity::service::recovery as service;
use crate::identity::store;
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::ApiError;
use crate::platform::events;
use crate::platform::http::{ApiJson, Caller};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`: the answer does not say whether the email belongs to anyone.
    pub status: &'static str,
}

/// Emails a password-reset link if the address belongs to a user with an active membership.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", operation_id = "auth_password_reset", tag = "identity",
    request_body = ResetRequest,
    responses((status = 202, description = "Accepted, whether or not the email is known", body = Accepted)))]
pub async fn request_reset(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let email = Email::parse(&req.email, "email")?;
    let now = state.clock().now();
    let mut conn = state.db().await?.conn().await?;
    if let Some(user) = store::users::by_email(&**conn, &email, now).await? {
        let tx = scoped_tx(&mut conn, None, Some(user)).await?;
        if let Some((tenant, envelope)) = service::request_reset(&state, &tx, user, &email, now).await? {
            let actor = Actor::person("anonymous", user, None, &caller);
            let entry = Entry::new("user.password_reset_requested", "user", user);
            audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
            tx.commit().await?;
            events::publish_committed(&state, &[envelope]).await?;
        }
    }
    Ok((StatusCode::ACCEPTED, Json(Accepted { status: "accepted" })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    pub token: String,
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
}

/// Sets a new password with a reset token; every session of the user ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", operation_id = "auth_password_reset_confirm", tag = "identity",
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "Password changed; all sessions revoked"),
        (status = 400, description = "The token is invalid, used or expired", body = crate::Problem),
        (status = 422, description = "The password breaks the policy (the token is not spent)", body = crate::Problem),
    ))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    let (user, hash) = parse_secret(&req.token).ok_or(ApiError::InvalidToken)?;
    let password_hash = service::new_password_hash(req.new_password, "new_password").await?;
    let now = state.clock().now();
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, None, Some(user)).await?;
    let tenants = service::confirm_reset(&tx, user, &hash, &password_hash, &caller, now).await?;
    let actor = Actor::person("user", user, None, &caller);
    for tenant in tenants {
        crate::platform::db::scope_tenant(&tx, tenant).await?;
        audit::record_as(&tx, Some(tenant), &actor, now, Entry::new("user.password_reset", "user", user))
            .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
    /// Required when the invitee has no password yet (a new user); ignored otherwise.
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretString>,
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationAccepted {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
}

/// Accepts an invitation: the membership becomes active with the invited roles; a new user sets
/// their password here. Then sign in with `POST /api/v1/auth/login`.
#[utoipa::path(post, path = "/api/v1/auth/invitations/accept", operation_id = "auth_invitation_accept", tag = "identity",
    request_body = AcceptInvitation,
    responses(
        (status = 200, description = "Accepted", body = InvitationAccepted),
        (status = 400, description = "The token is invalid, used, revoked or expired", body = crate::Problem),
        (status = 422, description = "A password is needed or breaks the policy (the token is not spent)", body = crate::Problem),
    ))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<AcceptInvitation>,
) -> Result<Json<InvitationAccepted>, ApiError> {
    let (tenant, hash) = parse_secret(&req.token).ok_or(ApiError::InvalidToken)?;
    let tenant = TenantId::from_uuid(tenant);
    check_display_name(req.display_name.as_deref())?;
    let now = state.clock().now();
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    let accepted =
        service::accept_invitation(&tx, tenant, &hash, req.password, req.display_name.as_deref(), now)
            .await?;
    let actor = Actor::person("user", accepted.user, Some(tenant), &caller);
    let entry = Entry::new("user.invitation_accepted", "user", accepted.user)
        .after(serde_json::json!({ "status": "active", "roles": accepted.roles }));
    audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
    tx.commit().await?;
    Ok(Json(InvitationAccepted {
        user_id: accepted.user,
        tenant_id: tenant.as_uuid(),
        email: accepted.email,
        roles: accepted.roles,
    }))
}
