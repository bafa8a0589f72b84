//! The links people receive by email: password reset (request → token by email → new password) and
//! invitation acceptance (the invitee sets a password). Tokens are single use and expire; only
//! their SHA-256 is stored. Emails go through the outbox to the `notify-email` function.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::login::normalize_email;
use super::passwords;
use super::sessions::{new_secret, parse_secret};
use crate::notifications::{EmailRequested, EmailTemplate};
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::events;
use crate::platform::http::ApiJson;
use crate::platform::http::Caller;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const RESET_TTL: Duration = Duration::hours(1);

/// A new password checked against the policy and hashed (off the async workers), or a 422.
pub async fn new_password_hash(password: SecretString, field: &str) -> Result<String, ApiError> {
    let field = field.to_owned();
    tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            passwords::PasswordError::Hashing => ApiError::internal(e),
            passwords::PasswordError::TooShort | passwords::PasswordError::TooLong => {
                ApiError::Validation(vec![FieldError::new(field, "password_policy", e.to_string())])
            }
        })
}

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
    let email = normalize_email(&req.email, "email")?;
    let now = state.clock().now();
    let db = state.db().await?;
    let mut conn = db.conn().await?;
    let user: Option<Uuid> =
        conn.query_one("SELECT user_id FROM identity_login_lookup($1, $2)", &[&email, &now]).await?.get(0);
    let mut published = Vec::new();
    if let Some(user) = user {
        let tx = scoped_tx(&mut conn, None, Some(user)).await?;
        let tenant: Option<Uuid> = tx
            .query_opt(
                "SELECT tenant_id FROM tenant_users WHERE user_id = $1 AND status = 'active'
                  ORDER BY created_at LIMIT 1",
                &[&user],
            )
            .await?
            .map(|r| r.get(0));
        // The email travels through a tenant's outbox; without an active membership the user
        // could not sign in after a reset anyway.
        if let Some(tenant) = tenant.map(TenantId::from_uuid) {
            crate::platform::db::scope_tenant(&tx, tenant).await?;
            let (token, hash) = new_secret(user)?;
            let expires = now + RESET_TTL;
            tx.execute(
                "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&Uuid::now_v7(), &user, &hash, &now, &expires],
            )
            .await?;
            let mut params = serde_json::Map::new();
            params.insert(
                "reset_url".into(),
                format!("{}/reset-password?token={token}", state.config().app_base_url).into(),
            );
            params.insert("expires_at".into(), expires.to_rfc3339().into());
            let mail = EmailRequested { to: email.clone(), template: EmailTemplate::PasswordReset, params };
            published.push(events::record(&*tx, Some(tenant), state.clock().as_ref(), &mail).await?);
            let actor = Actor::person("anonymous", user, None, &caller);
            audit::record_as(
                &tx,
                Some(tenant),
                &actor,
                now,
                Entry::new("user.password_reset_requested", "user", user),
            )
            .await?;
            tx.commit().await?;
        }
    }
    if !published.is_empty() {
        events::publish_committed(&state, &published).await?;
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
    let password_hash = new_password_hash(req.new_password, "new_password").await?;
    let now = state.clock().now();
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, None, Some(user)).await?;
    let spent = tx
        .execute(
            "UPDATE password_resets SET used_at = $3
              WHERE token_hash = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
            &[&hash, &user, &now],
        )
        .await?;
    if spent == 0 {
        return Err(ApiError::InvalidToken);
    }
    // Any other reset link of the user dies with this one.
    tx.execute(
        "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        &[&user, &now],
    )
    .await?;
    let email: String = tx
        .query_one(
            "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1
             RETURNING email",
            &[&user, &password_hash, &now],
        )
        .await?
        .get(0);
    tx.execute(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = 'password_reset' WHERE user_id = $1 AND revoked_at IS NULL",
        &[&user, &now],
    )
    .await?;
    // A reset ends any lockout on the email.
    tx.execute(
        "INSERT INTO login_attempts (id, email, user_id, ip, user_agent, succeeded, reason, attempted_at)
         VALUES ($1, $2, $3, $4, $5, true, 'password_reset', $6)",
        &[&Uuid::now_v7(), &email, &user, &caller.ip, &caller.user_agent, &now],
    )
    .await?;
    let tenants: Vec<Uuid> = tx
        .query("SELECT tenant_id FROM tenant_users WHERE user_id = $1", &[&user])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let actor = Actor::person("user", user, None, &caller);
    for tenant in tenants.into_iter().map(TenantId::from_uuid) {
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
    if let Some(name) = &req.display_name {
        if name.chars().count() > 200 {
            return Err(ApiError::Validation(vec![FieldError::new(
                "display_name",
                "too_long",
                "at most 200 characters",
            )]));
        }
    }
    let now = state.clock().now();
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    let row = tx
        .query_opt(
            "UPDATE invitations SET accepted_at = $2
              WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             RETURNING user_id, roles, invited_by",
            &[&hash, &now],
        )
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let (user, roles, invited_by): (Uuid, Vec<String>, Option<Uuid>) = (row.get(0), row.get(1), row.get(2));
    crate::platform::db::scope_user(&tx, user).await?;
    let account = tx.query_one("SELECT email, has_password FROM users WHERE id = $1", &[&user]).await?;
    let (email, has_password): (String, bool) = (account.get(0), account.get(1));
    if !has_password {
        let password = req.password.ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new("password", "required", "a new user sets a password")])
        })?;
        let hashed = new_password_hash(password, "password").await?;
        tx.execute(
            "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1",
            &[&user, &hashed, &now],
        )
        .await?;
    }
    if let Some(name) = req.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        tx.execute(
            "UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1",
            &[&user, &name, &now],
        )
        .await?;
    }
    tx.execute(
        "UPDATE tenant_users SET status = 'active', updated_at = $3, deactivated_at = NULL
          WHERE tenant_id = $1 AND user_id = $2",
        &[&tenant.as_uuid(), &user, &now],
    )
    .await?;
    // The membership holds exactly the invited roles.
    tx.execute(
        "DELETE FROM role_grants WHERE tenant_id = $1 AND user_id = $2 AND NOT (role_code = ANY($3))",
        &[&tenant.as_uuid(), &user, &roles],
    )
    .await?;
    tx.execute(
        "INSERT INTO role_grants (tenant_id, user_id, role_code, granted_by, granted_at)
         SELECT $1, $2, r, $4, $5 FROM unnest($3::text[]) AS r
         ON CONFLICT DO NOTHING",
        &[&tenant.as_uuid(), &user, &roles, &invited_by, &now],
    )
    .await?;
    let actor = Actor::person("user", user, Some(tenant), &caller);
    let entry = Entry::new("user.invitation_accepted", "user", user)
        .after(serde_json::json!({ "status": "active", "roles": roles }));
    audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
    tx.commit().await?;
    Ok(Json(InvitationAccepted { user_id: user, tenant_id: tenant.as_uuid(), email, roles }))
}
