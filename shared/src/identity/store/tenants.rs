//! `tenants`: tenants as platform staff manage them, and the reads other areas of identity need.

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Row, Transaction};
use uuid::Uuid;

use crate::identity::model::{Tenant, TenantQuery};
use crate::platform::tenant::TenantId;

pub(crate) async fn is_active(tx: &Transaction<'_>, tenant: TenantId) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .query_opt("SELECT 1 FROM tenants WHERE id = $1 AND status = 'active'", &[&tenant.as_uuid()])
        .await?
        .is_some())
}

/// `platform`, `vendor` or a customer kind.
/// The platform tenants (kind `platform`), oldest first.
pub(crate) async fn platform_ids(tx: &Transaction<'_>) -> Result<Vec<TenantId>, tokio_postgres::Error> {
    let rows = tx.query("SELECT id FROM tenants WHERE kind = 'platform' ORDER BY id", &[]).await?;
    Ok(rows.iter().map(|r| TenantId::from_uuid(r.get(0))).collect())
}

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

const SELECT: &str = "SELECT t.id, t.slug, t.name, t.kind, t.status,
        COALESCE((SELECT CASE WHEN jsonb_typeof(s.value) = 'number' THEN (s.value #>> '{}')::numeric::bigint END
                   FROM tenant_settings s
                   WHERE s.tenant_id = t.id AND s.key = 'session.idle_timeout_minutes'), 15),
        t.created_at, t.updated_at
   FROM tenants t";

fn tenant(r: &Row) -> Tenant {
    Tenant {
        id: r.get(0),
        slug: r.get(1),
        name: r.get(2),
        kind: r.get(3),
        status: r.get(4),
        idle_timeout_minutes: r.get(5),
        created_at: r.get(6),
        updated_at: r.get(7),
    }
}

/// The tenant `id`, locked for update when `lock`.
pub(crate) async fn load(
    tx: &Transaction<'_>,
    id: Uuid,
    lock: bool,
) -> Result<Option<Tenant>, tokio_postgres::Error> {
    let sql = format!("{SELECT} WHERE t.id = $1{}", if lock { " FOR UPDATE OF t" } else { "" });
    Ok(tx.query_opt(&sql, &[&id]).await?.map(|r| tenant(&r)))
}

/// Inserts a tenant; false when the slug is taken.
pub(crate) async fn insert(
    tx: &Transaction<'_>,
    id: Uuid,
    slug: &str,
    name: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let n = tx
        .execute(
            "INSERT INTO tenants (id, slug, name, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (slug) DO NOTHING",
            &[&id, &slug, &name, &kind, &now],
        )
        .await?;
    Ok(n > 0)
}

/// Tenants matching the filter (each part optional), newest first, from before `cursor`.
pub(crate) async fn list(
    tx: &Transaction<'_>,
    f: &TenantQuery<'_>,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Tenant>, tokio_postgres::Error> {
    let sql = format!(
        "{SELECT} WHERE ($1::text IS NULL OR t.status = $1) AND ($2::text IS NULL OR t.kind = $2)
            AND ($3::text IS NULL OR t.name ILIKE $3 OR t.slug ILIKE $3) AND ($4::uuid IS NULL OR t.id < $4)
          ORDER BY t.id DESC LIMIT $5"
    );
    let rows = tx.query(&sql, &[&f.status, &f.kind, &f.like, &cursor, &limit]).await?;
    Ok(rows.iter().map(tenant).collect())
}

/// Changes the name and the kind, as far as given.
pub(crate) async fn update(
    tx: &Transaction<'_>,
    id: Uuid,
    name: Option<&str>,
    kind: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE tenants SET name = COALESCE($2, name), kind = COALESCE($3, kind), updated_at = $4 WHERE id = $1",
        &[&id, &name, &kind, &now],
    )
    .await?;
    Ok(())
}

pub(crate) async fn set_status(
    tx: &Transaction<'_>,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE tenants SET status = $2, updated_at = $3 WHERE id = $1", &[&id, &status, &now])
        .await?;
    Ok(())
}
