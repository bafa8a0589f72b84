//! The users of the acting tenant, for its admins: invite, list, get, update, assign roles,
//! deactivate. Every change is audited with the state before and after.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::identity::Principal;
use crate::identity::model::{Email, Invitation, MemberFilter, User, check_display_name};
use crate::identity::service::users as service;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::events;
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;

fn user_id(raw: &str) -> Result<Uuid, ApiError> {
    crate::platform::http::path_id(raw, "a user")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub email: String,
    pub display_name: Option<String>,
    /// Role codes granted when the invitation is accepted.
    pub roles: Vec<String>,
}

/// Invites a person (new or already a user elsewhere) to the acting tenant; they get an email
/// with a link to accept. Inviting again replaces the pending invitation.
#[utoipa::path(post, path = "/api/v1/users/invitations", operation_id = "users_invite", tag = "users", security(("bearer" = [])),
    request_body = Invite,
    responses(
        (status = 201, description = "Invited; the email is on its way", body = Invitation),
        (status = 409, description = "Already an active member", body = crate::Problem),
        (status = 422, description = "Invalid email, unknown role, or a role you cannot grant", body = crate::Problem),
    ))]
pub async fn invite(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<Invite>,
) -> Result<(StatusCode, Json<Invitation>), ApiError> {
    let email = Email::parse(&req.email, "email")?;
    let display_name = req.display_name.as_deref().map(str::trim).unwrap_or("").to_owned();
    check_display_name(Some(&display_name))?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let invite = service::Invite { email, display_name, roles: req.roles };
    let (invitation, envelope) = service::invite(&state, &tx, &principal, invite).await?;
    let entry = Entry::new("user.invited", "invitation", invitation.id).after(&invitation);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    events::publish_committed(&state, &[envelope]).await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// invited, active or deactivated.
    pub status: Option<String>,
    /// Members holding this role.
    pub role: Option<String>,
    /// Part of the email, any case.
    pub email: Option<String>,
}

/// The acting tenant's users (only yourself, if your role reads only your own).
#[utoipa::path(get, path = "/api/v1/users", operation_id = "users_list", tag = "users", security(("bearer" = [])),
    params(UserFilter, PageQuery),
    responses((status = 200, description = "One page", body = inline(Page<User>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<UserFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let filter = MemberFilter {
        only: None,
        status: f.status,
        role: f.role,
        email_like: f
            .email
            .as_deref()
            .map(|q| crate::platform::pagination::contains_pattern(&q.to_lowercase())),
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let users = service::list(&tx, &principal, filter, cursor, limit + 1).await?;
    tx.commit().await?;
    Ok(Json(Page::of(users, limit, |u: &User| u.id)))
}

/// One user of the acting tenant.
#[utoipa::path(get, path = "/api/v1/users/{id}", operation_id = "users_get", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "Not a member of the acting tenant", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let id = user_id(&id)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let found = service::load(&tx, &principal, id).await?;
    tx.commit().await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
}

/// Changes how the acting tenant names a user (an empty name falls back to the user's own).
#[utoipa::path(patch, path = "/api/v1/users/{id}", operation_id = "users_update", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "Updated", body = User),
        (status = 404, description = "Not a member of the acting tenant", body = crate::Problem),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UserPatch>,
) -> Result<Json<User>, ApiError> {
    let id = user_id(&id)?;
    check_display_name(req.display_name.as_deref())?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (before, after) = service::rename(&tx, &principal, id, req.display_name.as_deref()).await?;
    let entry = Entry::new("user.updated", "user", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignment {
    /// The complete set of roles the user holds in the acting tenant afterwards.
    pub roles: Vec<String>,
}

/// Replaces a user's roles in the acting tenant. You cannot change your own roles, nor grant or
/// remove a role you could not grant.
#[utoipa::path(put, path = "/api/v1/users/{id}/roles", operation_id = "users_assign_roles", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = RoleAssignment,
    responses(
        (status = 200, description = "Assigned", body = User),
        (status = 403, description = "Your own roles", body = crate::Problem),
        (status = 404, description = "Not a member of the acting tenant", body = crate::Problem),
        (status = 409, description = "The membership is not active", body = crate::Problem),
        (status = 422, description = "Unknown role, or one you cannot grant or remove", body = crate::Problem),
    ))]
pub async fn assign_roles(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RoleAssignment>,
) -> Result<Json<User>, ApiError> {
    let id = user_id(&id)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (before, after) = service::assign_roles(&tx, &principal, id, req.roles).await?;
    let entry = Entry::new("user.roles_assigned", "user", id)
        .before(serde_json::json!({ "roles": before.roles }))
        .after(serde_json::json!({ "roles": after.roles }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Deactivates a user's membership in the acting tenant: their roles there are removed, their
/// sessions there end at once and pending invitations are withdrawn. Their memberships elsewhere are untouched.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", operation_id = "users_deactivate", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Deactivated", body = User),
        (status = 403, description = "Yourself", body = crate::Problem),
        (status = 404, description = "Not a member of the acting tenant", body = crate::Problem),
    ))]
pub async fn deactivate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let id = user_id(&id)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (before, after) = service::deactivate(&tx, &principal, id).await?;
    let entry = Entry::new("user.deactivated", "user", id)
        .before(serde_json::json!({ "status": before.status, "roles": before.roles }))
        .after(serde_json::json!({ "status": after.status, "roles": after.roles }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
