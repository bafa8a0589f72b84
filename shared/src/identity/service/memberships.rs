//! The one membership service: a person's membership of a tenant and the roles it holds. Users
//! (assign, deactivate), invitations (accept) and single sign-on (provisioning) all change
//! memberships through here.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::Error;
use crate::identity::store;
use crate::platform::tenant::TenantId;

/// Makes `user` an active member of `tenant` holding exactly `roles` (granted by `granted_by`):
/// an accepted invitation, or a person provisioned by single sign-on.
pub(crate) async fn join(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    roles: &[String],
    granted_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    store::memberships::activate(tx, tenant, user, now).await?;
    set_roles(tx, tenant, user, roles, granted_by, now).await
}

/// The membership holds exactly `roles` afterwards; grants it already had keep their grantor.
pub(crate) async fn set_roles(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    roles: &[String],
    granted_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    store::memberships::set_roles(tx, tenant, user, roles, granted_by, now).await?;
    Ok(())
}

/// Deactivates the membership; its grants go with it (a later invitation grants only what it
/// names).
pub(crate) async fn deactivate(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    set_roles(tx, tenant, user, &[], None, now).await?;
    store::memberships::deactivate(tx, tenant, user, now).await?;
    Ok(())
}
