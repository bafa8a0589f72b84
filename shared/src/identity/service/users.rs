//! The users of the acting tenant, for its admins: invite, list, get, rename, assign roles,
//! deactivate, in the acting tenant's transaction (row-level security). Admins edit how their
//! tenant names a user (the membership), never the user's own profile, which every tenant of the
//! user shares. Who may grant what is [`crate::identity::model::check_roles`]'s rule.

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::Principal;
use crate::identity::model::new_secret;
use crate::identity::model::{
    Email, Error, INVITATION_TTL, Invitation, MemberFilter, User, check_outranks, check_roles, may_assign,
};
use crate::identity::roles::Scope;
use crate::identity::service::memberships;
use crate::identity::store;
use crate::notifications::{EmailRequested, EmailTemplate};
use crate::platform::events::{self, Envelope};
use crate::platform::state::AppState;

/// The member `id` of the acting tenant (not found if there is none, or if the caller may see only
/// themself and it is someone else).
pub(crate) async fn load(tx: &Transaction<'_>, p: &Principal, id: Uuid) -> Result<User, Error> {
    let not_found = || Error::NotFound(format!("user {id}"));
    if p.scope == Scope::Own && id != p.user_id {
        return Err(not_found());
    }
    store::users::member(tx, p.tenant, id).await?.ok_or_else(not_found)
}

/// An invitation to make.
pub(crate) struct Invite {
    pub email: Email,
    /// How the tenant names the invitee (empty: their own name).
    pub display_name: String,
    pub roles: Vec<String>,
}

/// Invites a person (new, or a user elsewhere) to the acting tenant, replacing a pending
/// invitation; the email with the link is recorded in the outbox (publish the envelope after
/// commit).
pub(crate) async fn invite(
    state: &AppState,
    tx: &Transaction<'_>,
    p: &Principal,
    req: Invite,
) -> Result<(Invitation, Envelope), Error> {
    let now = p.now;
    check_roles(p, &req.roles, "roles", &store::tenants::kind(tx, p.tenant).await?)?;
    // The user's own profile name is theirs to set (on acceptance); the admin's name for them is
    // this tenant's.
    let user = store::users::ensure(tx, &req.email, now).await?;
    if store::memberships::invite(tx, p.tenant, user, &req.display_name, now).await? == "active" {
        return Err(Error::Conflict {
            code: "already_member",
            detail: format!("{} is already a member", req.email),
        });
    }
    // A pending invitation is replaced only by someone who could have made it.
    let pending = store::invitations::pending_roles(tx, p.tenant, user).await?;
    if let Some(r) = pending.iter().flatten().find(|r| !may_assign(p, r)) {
        return Err(Error::Forbidden(format!("a pending invitation grants {r}, which you cannot grant")));
    }
    store::invitations::revoke_pending(tx, p.tenant, user, now).await?;
    let (token, hash) = new_secret(p.tenant.as_uuid())?;
    let invitation = Invitation {
        id: Uuid::now_v7(),
        email: req.email.into_string(),
        roles: req.roles,
        expires_at: now + INVITATION_TTL,
    };
    let row = store::invitations::NewInvitation {
        id: invitation.id,
        tenant: p.tenant,
        user,
        roles: &invitation.roles,
        token_hash: &hash,
        invited_by: p.user_id,
        now,
        expires_at: invitation.expires_at,
    };
    store::invitations::insert(tx, &row).await?;
    let mut params = serde_json::Map::new();
    params.insert("tenant_name".into(), store::tenants::name(tx, p.tenant).await?.into());
    params.insert(
        "accept_url".into(),
        format!("{}/accept-invitation?token={token}", state.config().app_base_url).into(),
    );
    params.insert("expires_at".into(), invitation.expires_at.to_rfc3339().into());
    let mail = EmailRequested { to: invitation.email.clone(), template: EmailTemplate::Invitation, params };
    let envelope = events::record(tx, Some(p.tenant), state.clock().as_ref(), &mail).await?;
    Ok((invitation, envelope))
}

/// One page of the acting tenant's members (only the caller, if they may see only themself).
pub(crate) async fn list(
    tx: &Transaction<'_>,
    p: &Principal,
    mut filter: MemberFilter,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>, Error> {
    filter.only = (p.scope == Scope::Own).then_some(p.user_id);
    Ok(store::users::members(tx, p.tenant, &filter, cursor, limit).await?)
}

/// Changes how the acting tenant names member `id` (an empty name falls back to their own);
/// answers the member before and after.
pub(crate) async fn rename(
    tx: &Transaction<'_>,
    p: &Principal,
    id: Uuid,
    name: Option<&str>,
) -> Result<(User, User), Error> {
    let before = load(tx, p, id).await?;
    if id != p.user_id {
        check_outranks(p, &before.roles)?;
    }
    if let Some(name) = name {
        let name = Some(name.trim()).filter(|n| !n.is_empty());
        store::memberships::rename(tx, p.tenant, id, name, p.now).await?;
    }
    Ok((before, load(tx, p, id).await?))
}

/// Replaces an active member's roles in the acting tenant (never the caller's own, never a role
/// the caller could not grant or take away); answers the member before and after.
pub(crate) async fn assign_roles(
    tx: &Transaction<'_>,
    p: &Principal,
    id: Uuid,
    mut roles: Vec<String>,
) -> Result<(User, User), Error> {
    if id == p.user_id {
        return Err(Error::Forbidden("you cannot change your own roles".into()));
    }
    roles.sort();
    roles.dedup();
    let before = load(tx, p, id).await?;
    check_outranks(p, &before.roles)?;
    if before.status != "active" {
        return Err(Error::Conflict {
            code: "not_active",
            detail: format!(
                "the membership is {}; roles are given to active members (or by invitation)",
                before.status
            ),
        });
    }
    check_roles(p, &roles, "roles", &store::tenants::kind(tx, p.tenant).await?)?;
    memberships::set_roles(tx, p.tenant, id, &roles, Some(p.user_id), p.now).await?;
    Ok((before, load(tx, p, id).await?))
}

/// Deactivates member `id` (never the caller): their roles here go, their sessions here end at
/// once and pending invitations are withdrawn; memberships elsewhere are untouched. Answers the
/// member before and after.
pub(crate) async fn deactivate(tx: &Transaction<'_>, p: &Principal, id: Uuid) -> Result<(User, User), Error> {
    if id == p.user_id {
        return Err(Error::Forbidden("you cannot deactivate yourself".into()));
    }
    let before = load(tx, p, id).await?;
    check_outranks(p, &before.roles)?;
    memberships::deactivate(tx, p.tenant, id, p.now).await?;
    store::sessions::revoke_member(tx, p.tenant, id, "deactivated", p.now).await?;
    store::invitations::revoke_pending(tx, p.tenant, id, p.now).await?;
    Ok((before, load(tx, p, id).await?))
}
