//! API keys: the guard's check of a presented key, and minting, listing, rotating and revoking the
//! acting tenant's keys. A key's permissions are those of its list its creator still holds.

use chrono::{DateTime, Duration, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::{
    ApiKey, CreatedApiKey, Error, KEY_TOUCH_INTERVAL, Principal, TenantLimits, effective_roles, new_key,
    role_permissions,
};
use crate::identity::roles::Permission;
use crate::identity::store::api_keys as store;
use crate::platform::tenant::TenantId;

/// A key that may act now.
pub(crate) struct LiveKey {
    pub limits: TenantLimits,
    pub id: Uuid,
    pub tenant: TenantId,
    pub created_by: Uuid,
    pub permissions: Vec<Permission>,
}

fn refused(why: &str) -> Error {
    Error::Unauthenticated(format!("the API key {why}"))
}

/// Why a known key may not act now, if it may not.
fn refusal(k: &store::KeyState) -> Option<Error> {
    if k.revoked {
        return Some(refused("was revoked"));
    }
    if k.expired {
        return Some(refused("has expired"));
    }
    if k.grace_over {
        return Some(refused("was rotated and its grace period is over"));
    }
    if k.tenant_status != "active" {
        return Some(refused(&format!("belongs to a tenant that is {}", k.tenant_status)));
    }
    if k.member_status != "active" {
        return Some(refused("belongs to a user who is no longer an active member"));
    }
    None
}

/// Checks the key of `tenant` with secret `hash` (the transaction is scoped to the tenant): known,
/// not revoked, not expired, within its grace period if rotated, tenant active, creator still an
/// active member. Its permissions are those its creator still holds.
pub(crate) async fn check(
    tx: &Transaction<'_>,
    tenant: TenantId,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<LiveKey, Error> {
    let k = store::by_secret(tx, hash, now).await?.ok_or_else(|| refused("is not valid"))?;
    if let Some(e) = refusal(&k) {
        return Err(e);
    }
    if k.last_used_at.is_none_or(|l| now - l >= KEY_TOUCH_INTERVAL) {
        store::touch(tx, k.id, now).await?;
    }
    // What the creator holds now bounds what the key may do (platform roles count only in the
    // platform tenant, as for sessions).
    let creator = role_permissions(&effective_roles(k.creator_roles, Some(&k.tenant_kind)));
    let permissions = k
        .permissions
        .iter()
        .filter_map(|p| p.parse::<Permission>().ok())
        .filter(|p| creator.iter().any(|c| c.grants(p)))
        .collect();
    Ok(LiveKey { limits: k.limits, id: k.id, tenant, created_by: k.created_by, permissions })
}

/// Stores a new key for `tenant` made by `created_by` and returns it with its one-time secret.
/// The caller has checked the permissions (the API does; the demo seed grants its own admin's).
pub async fn mint(
    tx: &Transaction<'_>,
    tenant: TenantId,
    created_by: Uuid,
    name: &str,
    permissions: &[String],
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<CreatedApiKey, Error> {
    let (key, hash, shown) = new_key(tenant)?;
    let new = store::NewKey {
        id: Uuid::now_v7(),
        tenant,
        name: name.trim(),
        display_prefix: &shown,
        secret_hash: &hash,
        permissions,
        created_by,
        expires_at,
    };
    Ok(CreatedApiKey { key, api_key: store::insert(tx, &new, now).await? })
}

/// One page of the acting tenant's keys (one more than `limit` when there are more).
pub(crate) async fn list(
    tx: &Transaction<'_>,
    p: &Principal,
    all: bool,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ApiKey>, Error> {
    Ok(store::list(tx, all, cursor, limit + 1, p.now).await?)
}

/// The acting tenant's key `id`, locked for update.
pub(crate) async fn load(tx: &Transaction<'_>, p: &Principal, id: Uuid) -> Result<ApiKey, Error> {
    store::load(tx, id, p.now).await?.ok_or_else(|| Error::NotFound(format!("API key {id}")))
}

/// Issues a successor of key `id` with the same name, permissions and expiry; the old key works
/// for `grace`, then stops. The old key (before) and the successor.
pub(crate) async fn rotate(
    tx: &Transaction<'_>,
    p: &Principal,
    id: Uuid,
    grace: Duration,
) -> Result<(ApiKey, CreatedApiKey), Error> {
    let old = load(tx, p, id).await?;
    if old.status != "active" {
        return Err(Error::Conflict { code: "not_active", detail: format!("the key is {}", old.status) });
    }
    // The successor may not carry more than the rotating person holds.
    if let Some(perm) =
        old.permissions.iter().find(|perm| perm.parse::<Permission>().is_ok_and(|x| !p.holds(&x)))
    {
        return Err(Error::Forbidden(format!("the key carries {perm}, which you do not hold")));
    }
    let created = mint(tx, p.tenant, p.user_id, &old.name, &old.permissions, old.expires_at, p.now).await?;
    store::set_rotated(tx, id, p.now + grace, created.api_key.id).await?;
    Ok((old, created))
}

/// Revokes key `id` at once: the key before, when it was not revoked yet.
pub(crate) async fn revoke(tx: &Transaction<'_>, p: &Principal, id: Uuid) -> Result<Option<ApiKey>, Error> {
    let before = load(tx, p, id).await?;
    if before.revoked_at.is_some() {
        return Ok(None);
    }
    store::revoke(tx, id, p.now).await?;
    Ok(Some(before))
}
