//! The users of the acting tenant, for its admins: invite, list, get, update, assign roles,
//! deactivate. Everything runs in the acting tenant's transaction (row-level security), and every
//! change is audited with the state before and after.
//!
//! Who may grant a role: a principal holding every permission of that role (at its scope), or a
//! platform principal (`users:assign:all`) granting a tenant-level role (one without `:all`
//! permissions). Roles with `:all` permissions (platform staff) exist only in the platform tenant.
//! Changing, re-roling or deactivating a user needs the right to grant every role they hold, so a
//! vendor admin cannot touch a tenant admin. Admins edit how their tenant names a user (the
//! membership), never the user's own profile, which every tenant of the user shares.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::roles::{Scope, role};
use crate::identity::login::normalize_email;
use crate::identity::principal::Principal;
use crate::identity::sessions::new_secret;
use crate::notifications::{EmailRequested, EmailTemplate};
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::events;
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;

pub const INVITATION_TTL: Duration = Duration::days(7);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// The membership in the acting tenant: invited, active or deactivated.
    pub status: String,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT u.id, u.email, COALESCE(m.display_name, u.display_name), m.status,
        ARRAY(SELECT g.role_code FROM role_grants g WHERE g.tenant_id = m.tenant_id AND g.user_id = m.user_id ORDER BY 1),
        m.created_at
   FROM tenant_users m JOIN users u ON u.id = m.user_id";

fn user(r: &Row) -> User {
    User {
        id: r.get(0),
        email: r.get(1),
        display_name: r.get(2),
        status: r.get(3),
        roles: r.get(4),
        created_at: r.get(5),
    }
}

/// Whether a role reaches across tenants (holds an `:all` permission): platform staff.
pub fn is_platform_role(code: &str) -> bool {
    role(code).is_some_and(|r| r.parsed().any(|perm| perm.scope() == Scope::All))
}

/// Whether `p` may grant (or take away) `code`.
pub fn may_assign(p: &Principal, code: &str) -> bool {
    let Some(r) = role(code) else { return false };
    let subset = r.parsed().all(|perm| p.holds(&perm));
    let platform = p.may("users:assign:all");
    subset || (platform && !is_platform_role(code))
}

/// Refuses to manage a user holding a role `p` could not grant (403).
fn check_outranks(p: &Principal, target: &User) -> Result<(), ApiError> {
    match target.roles.iter().find(|r| !may_assign(p, r)) {
        Some(r) => Err(ApiError::Forbidden(format!("you cannot manage a user who holds {r}"))),
        None => Ok(()),
    }
}

fn check_roles(p: &Principal, roles: &[String], field: &str, tenant_kind: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if roles.is_empty() {
        errors.push(FieldError::new(field, "required", "at least one role"));
    }
    for (i, code) in roles.iter().enumerate() {
        if role(code).is_none() {
            errors.push(FieldError::new(format!("{field}[{i}]"), "unknown_role", format!("no role {code}")));
        } else if is_platform_role(code) && tenant_kind != "platform" {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "platform_role",
                format!("{code} is platform staff: it exists only in the platform tenant"),
            ));
        } else if !may_assign(p, code) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "not_assignable",
                format!("you cannot grant {code}"),
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

fn user_id(raw: &str) -> Result<Uuid, ApiError> {
    crate::platform::http::path_id(raw, "a user")
}

/// The member `id` of the acting tenant (404 if there is none, or if the caller may see only
/// themself and it is someone else).
async fn load(tx: &tokio_postgres::Transaction<'_>, p: &Principal, id: Uuid) -> Result<User, ApiError> {
    let not_found = || ApiError::NotFound(format!("user {id}"));
    if p.scope == Scope::Own && id != p.user_id {
        return Err(not_found());
    }
    tx.query_opt(&format!("{SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2"), &[&p.tenant.as_uuid(), &id])
        .await?
        .map(|r| user(&r))
        .ok_or_else(not_found)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub email: String,
    pub display_name: Option<String>,
    /// Role codes granted when the invitation is accepted.
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    pub expires_at: DateTime<Utc>,
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
    let email = normalize_email(&req.email, "email")?;
    let name = req.display_name.as_deref().map(str::trim).unwrap_or("").to_owned();
    if name.chars().count() > 200 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "display_name",
            "too_long",
            "at most 200 characters",
        )]));
    }
    let now = principal.now;
    let db = state.db().await?;
    let mut conn = db.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    check_roles(&principal, &req.roles, "roles", &principal.tenant_kind(&tx).await?)?;
    let uid: Uuid = tx
        // The user's own profile name is theirs to set (on acceptance); the admin's name for them
        // is this tenant's.
        .query_one("SELECT identity_ensure_user($1, $2, '', $3)", &[&Uuid::now_v7(), &email, &now])
        .await?
        .get(0);
    let tenant = principal.tenant.as_uuid();
    let status: String = tx
        .query_one(
            "INSERT INTO tenant_users (tenant_id, user_id, status, display_name, created_at, updated_at)
             VALUES ($1, $2, 'invited', NULLIF($4, ''), $3, $3)
             ON CONFLICT (tenant_id, user_id) DO UPDATE
               SET status = CASE WHEN tenant_users.status = 'active' THEN 'active' ELSE 'invited' END,
                   display_name = COALESCE(EXCLUDED.display_name, tenant_users.display_name),
                   updated_at = EXCLUDED.updated_at
             RETURNING status",
            &[&tenant, &uid, &now, &name],
        )
        .await?
        .get(0);
    if status == "active" {
        return Err(ApiError::Conflict {
            code: "already_member",
            detail: format!("{email} is already a member"),
        });
    }
    // A pending invitation is replaced only by someone who could have made it.
    let pending: Vec<Vec<String>> = tx
        .query(
            "SELECT roles FROM invitations WHERE tenant_id = $1 AND user_id = $2
                AND accepted_at IS NULL AND revoked_at IS NULL",
            &[&tenant, &uid],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(r) = pending.iter().flatten().find(|r| !may_assign(&principal, r)) {
        return Err(ApiError::Forbidden(format!("a pending invitation grants {r}, which you cannot grant")));
    }
    tx.execute(
        "UPDATE invitations SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2
            AND accepted_at IS NULL AND revoked_at IS NULL",
        &[&tenant, &uid, &now],
    )
    .await?;
    let (token, hash) = new_secret(tenant)?;
    let id = Uuid::now_v7();
    let expires_at = now + INVITATION_TTL;
    tx.execute(
        "INSERT INTO invitations (id, tenant_id, user_id, roles, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&id, &tenant, &uid, &req.roles, &hash, &principal.user_id, &now, &expires_at],
    )
    .await?;
    let tenant_name: String =
        tx.query_one("SELECT name FROM tenants WHERE id = $1", &[&tenant]).await?.get(0);
    let mut params = serde_json::Map::new();
    params.insert("tenant_name".into(), tenant_name.into());
    params.insert(
        "accept_url".into(),
        format!("{}/accept-invitation?token={token}", state.config().app_base_url).into(),
    );
    params.insert("expires_at".into(), expires_at.to_rfc3339().into());
    let mail = EmailRequested { to: email.clone(), template: EmailTemplate::Invitation, params };
    let envelope = events::record(&*tx, Some(principal.tenant), state.clock().as_ref(), &mail).await?;
    let invitation = Invitation { id, user_id: uid, email, roles: req.roles, expires_at };
    audit::record(&tx, &principal, Entry::new("user.invited", "user", uid).after(&invitation)).await?;
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
    let only: Option<Uuid> = (principal.scope == Scope::Own).then_some(principal.user_id);
    let like = f.email.as_deref().map(|q| crate::platform::pagination::contains_pattern(&q.to_lowercase()));
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE m.tenant_id = $1 AND ($2::uuid IS NULL OR m.user_id = $2)
                    AND ($3::text IS NULL OR m.status = $3) AND ($4::text IS NULL OR u.email LIKE $4)
                    AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM role_grants g WHERE g.tenant_id = m.tenant_id
                                                     AND g.user_id = m.user_id AND g.role_code = $5))
                    AND ($6::uuid IS NULL OR m.user_id < $6)
                  ORDER BY m.user_id DESC LIMIT $7"
            ),
            &[&principal.tenant.as_uuid(), &only, &f.status, &like, &f.role, &cursor, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(user).collect(), limit, |u: &User| u.id)))
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
    let found = load(&tx, &principal, id).await?;
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
    if req.display_name.as_deref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "display_name",
            "too_long",
            "at most 200 characters",
        )]));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, &principal, id).await?;
    if id != principal.user_id {
        check_outranks(&principal, &before)?;
    }
    if let Some(name) = &req.display_name {
        let name = Some(name.trim()).filter(|n| !n.is_empty());
        tx.execute(
            "UPDATE tenant_users SET display_name = $3, updated_at = $4 WHERE tenant_id = $1 AND user_id = $2",
            &[&principal.tenant.as_uuid(), &id, &name, &principal.now],
        )
        .await?;
    }
    let after = load(&tx, &principal, id).await?;
    audit::record(&tx, &principal, Entry::new("user.updated", "user", id).before(&before).after(&after))
        .await?;
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
    ApiJson(mut req): ApiJson<RoleAssignment>,
) -> Result<Json<User>, ApiError> {
    let id = user_id(&id)?;
    if id == principal.user_id {
        return Err(ApiError::Forbidden("you cannot change your own roles".into()));
    }
    req.roles.sort();
    req.roles.dedup();
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, &principal, id).await?;
    check_outranks(&principal, &before)?;
    if before.status != "active" {
        return Err(ApiError::Conflict {
            code: "not_active",
            detail: format!(
                "the membership is {}; roles are given to active members (or by invitation)",
                before.status
            ),
        });
    }
    check_roles(&principal, &req.roles, "roles", &principal.tenant_kind(&tx).await?)?;
    let tenant = principal.tenant.as_uuid();
    tx.execute(
        "DELETE FROM role_grants WHERE tenant_id = $1 AND user_id = $2 AND NOT (role_code = ANY($3))",
        &[&tenant, &id, &req.roles],
    )
    .await?;
    tx.execute(
        "INSERT INTO role_grants (tenant_id, user_id, role_code, granted_by, granted_at)
         SELECT $1, $2, r, $4, $5 FROM unnest($3::text[]) AS r ON CONFLICT DO NOTHING",
        &[&tenant, &id, &req.roles, &principal.user_id, &principal.now],
    )
    .await?;
    let after = load(&tx, &principal, id).await?;
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
    if id == principal.user_id {
        return Err(ApiError::Forbidden("you cannot deactivate yourself".into()));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, &principal, id).await?;
    check_outranks(&principal, &before)?;
    let (tenant, now) = (principal.tenant.as_uuid(), principal.now);
    // Grants go with the membership: a later invitation grants only what it names.
    tx.execute("DELETE FROM role_grants WHERE tenant_id = $1 AND user_id = $2", &[&tenant, &id]).await?;
    tx.execute(
        "UPDATE tenant_users SET status = 'deactivated', deactivated_at = $3, updated_at = $3
          WHERE tenant_id = $1 AND user_id = $2",
        &[&tenant, &id, &now],
    )
    .await?;
    tx.execute(
        "UPDATE sessions SET revoked_at = $3, revoked_reason = 'deactivated'
          WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        &[&tenant, &id, &now],
    )
    .await?;
    tx.execute(
        "UPDATE invitations SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2
            AND accepted_at IS NULL AND revoked_at IS NULL",
        &[&tenant, &id, &now],
    )
    .await?;
    let after = load(&tx, &principal, id).await?;
    let entry = Entry::new("user.deactivated", "user", id)
        .before(serde_json::json!({ "status": before.status, "roles": before.roles }))
        .after(serde_json::json!({ "status": after.status, "roles": after.roles }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
