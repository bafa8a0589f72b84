//! `tenants`: the reads other areas of identity need.

use tokio_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use crate::platform::tenant::TenantId;

pub(crate) async fn is_active(tx: &Transaction<'_>, tenant: TenantId) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .query_opt("SELECT 1 FROM tenants WHERE id = $1 AND status = 'active'", &[&tenant.as_uuid()])
        .await?
        .is_some())
}

/// `platform`, `vendor` or a customer kind.
pub(crate) async fn kind(tx: &Transaction<'_>, tenant: TenantId) -> Result<String, tokio_postgres::Error> {
    Ok(tx.query_one("SELECT kind FROM tenants WHERE id = $1", &[&tenant.as_uuid()]).await?.get(0))
}

pub(crate) async fn name(tx: &Transaction<'_>, tenant: TenantId) -> Result<String, tokio_postgres::Error> {
    Ok(tx.query_one("SELECT name FROM tenants WHERE id = $1", &[&tenant.as_uuid()]).await?.get(0))
}

/// A tenant by slug, through `identity_tenant_by_slug` (before a tenant is known the application
/// role sees no tenant row).
pub(crate) async fn by_slug(
    client: &impl GenericClient,
    slug: &str,
) -> Result<Option<TenantId>, tokio_postgres::Error> {
    let id: Option<Uuid> = client.query_one("SELECT identity_tenant_by_slug($1)", &[&slug]).await?.get(0);
    Ok(id.map(TenantId::from_uuid))
}

/// Whether the tenant exists (in whatever status).
pub(crate) async fn exists(tx: &Transaction<'_>, tenant: TenantId) -> Result<bool, tokio_postgres::Error> {
    Ok(tx.query_opt("SELECT status FROM tenants WHERE id = $1", &[&tenant.as_uuid()]).await?.is_some())
}
