//! Tenant management for platform staff: create, list, get, update, suspend, reactivate, in a
//! transaction of the operations database role (cross-tenant work).

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::{Error, Tenant, TenantFields, TenantQuery, check_status_change};
use crate::identity::store;
use crate::platform::tenant::TenantId;

/// The tenant `id` (locked for update when `lock`).
pub(crate) async fn get(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Tenant, Error> {
    store::tenants::load(tx, id, lock).await?.ok_or_else(|| Error::NotFound(format!("tenant {id}")))
}

/// Creates a tenant with checked `fields` (slug, name, kind and idle timeout all given).
pub(crate) async fn create(
    tx: &Transaction<'_>,
    fields: TenantFields<'_>,
    now: DateTime<Utc>,
) -> Result<Tenant, Error> {
    fields.check()?;
    let (slug, name, kind) =
        (fields.slug.unwrap_or_default(), fields.name.unwrap_or_default(), fields.kind.unwrap_or_default());
    let id = Uuid::now_v7();
    if !store::tenants::insert(tx, id, slug, name.trim(), kind, now).await? {
        return Err(Error::Conflict {
            code: "slug_taken",
            detail: format!("a tenant has the slug {slug:?}"),
        });
    }
    if let Some(minutes) = fields.idle_timeout_minutes {
        store::settings::set_idle(tx, TenantId::from_uuid(id), minutes, now).await?;
    }
    get(tx, id, false).await
}

/// One page of tenants, newest first (one more than `limit` when there are more).
pub(crate) async fn list(
    tx: &Transaction<'_>,
    filter: &TenantQuery<'_>,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Tenant>, Error> {
    Ok(store::tenants::list(tx, filter, cursor, limit + 1).await?)
}

/// Changes a tenant's name, kind or idle timeout: the tenant before and after.
pub(crate) async fn update(
    tx: &Transaction<'_>,
    id: Uuid,
    patch: TenantFields<'_>,
    now: DateTime<Utc>,
) -> Result<(Tenant, Tenant), Error> {
    patch.check()?;
    let before = get(tx, id, true).await?;
    store::tenants::update(tx, id, patch.name.map(str::trim), patch.kind, now).await?;
    if let Some(minutes) = patch.idle_timeout_minutes {
        store::settings::set_idle(tx, TenantId::from_uuid(id), minutes, now).await?;
    }
    Ok((before, get(tx, id, false).await?))
}

/// Moves a tenant to `status` (suspended, or active again): the tenant before and after.
pub(crate) async fn set_status(
    tx: &Transaction<'_>,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(Tenant, Tenant), Error> {
    let before = get(tx, id, true).await?;
    check_status_change(&before, status)?;
    store::tenants::set_status(tx, id, status, now).await?;
    Ok((before, get(tx, id, false).await?))
}
