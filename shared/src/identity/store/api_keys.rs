//! `api_keys`: the guard's lookup of a presented key, and the tenant's keys as its admins manage
//! them.

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::identity::model::{ApiKey, TenantLimits, key_status};
use crate::platform::tenant::TenantId;

const SELECT: &str = "SELECT id, name, display_prefix, permissions, created_by, created_at, expires_at,
        last_used_at, revoked_at, grace_until, replaced_by FROM api_keys";

fn api_key(r: &Row, now: DateTime<Utc>) -> ApiKey {
    let expires_at: Option<DateTime<Utc>> = r.get(6);
    let revoked_at: Option<DateTime<Utc>> = r.get(8);
    let grace_until: Option<DateTime<Utc>> = r.get(9);
    ApiKey {
        id: r.get(0),
        name: r.get(1),
        display_prefix: r.get(2),
        permissions: r.get(3),
        created_by: r.get(4),
        created_at: r.get(5),
        expires_at,
        last_used_at: r.get(7),
        revoked_at,
        grace_until,
        replaced_by: r.get(10),
        status: key_status(revoked_at, expires_at, grace_until, now).to_owned(),
    }
}

/// A presented key as the guard sees it at `now`.
pub(crate) struct KeyState {
    pub id: Uuid,
    pub created_by: Uuid,
    pub permissions: Vec<String>,
    pub revoked: bool,
    pub expired: bool,
    pub grace_over: bool,
    pub tenant_status: String,
    pub tenant_kind: String,
    pub member_status: String,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The creator's roles in the key's tenant.
    pub creator_roles: Vec<String>,
    pub limits: TenantLimits,
}

/// The key with secret `hash`, with its tenant, its creator's membership and roles.
pub(crate) async fn by_secret(
    tx: &Transaction<'_>,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<KeyState>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT k.id, k.created_by, k.permissions, k.revoked_at IS NOT NULL,
            k.expires_at IS NOT NULL AND k.expires_at <= $2,
            k.grace_until IS NOT NULL AND k.grace_until <= $2,
            t.status, t.kind, m.status, k.last_used_at,
            ARRAY(SELECT g.role_code FROM role_grants g
                   WHERE g.tenant_id = k.tenant_id AND g.user_id = k.created_by),
            {}
       FROM api_keys k
       JOIN tenants t ON t.id = k.tenant_id
       JOIN tenant_users m ON m.tenant_id = k.tenant_id AND m.user_id = k.created_by
      WHERE k.secret_hash = $1",
        super::sessions::limits_sql("k.tenant_id")
    );
    let row = tx.query_opt(&sql, &[&hash, &now]).await?;
    Ok(row.map(|row| KeyState {
        id: row.get(0),
        created_by: row.get(1),
        permissions: row.get(2),
        revoked: row.get(3),
        expired: row.get(4),
        grace_over: row.get(5),
        tenant_status: row.get(6),
        tenant_kind: row.get(7),
        member_status: row.get(8),
        last_used_at: row.get(9),
        creator_roles: row.get(10),
        limits: TenantLimits { read: row.get(11), write: row.get(12) },
    }))
}

/// Records a key's use.
pub(crate) async fn touch(
    tx: &Transaction<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", &[&id, &now]).await?;
    Ok(())
}

/// A key to store.
pub(crate) struct NewKey<'a> {
    pub id: Uuid,
    pub tenant: TenantId,
    pub name: &'a str,
    pub display_prefix: &'a str,
    pub secret_hash: &'a [u8],
    pub permissions: &'a [String],
    pub created_by: Uuid,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Stores a key and reads it back as listed.
pub(crate) async fn insert(
    tx: &Transaction<'_>,
    k: &NewKey<'_>,
    now: DateTime<Utc>,
) -> Result<ApiKey, tokio_postgres::Error> {
    let sql = format!(
        "WITH k AS (INSERT INTO api_keys (id, tenant_id, name, display_prefix, secret_hash, permissions,
                                          created_by, created_at, expires_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *)
         {} ",
        SELECT.replace("FROM api_keys", "FROM k")
    );
    let row = tx
        .query_one(
            &sql,
            &[
                &k.id,
                &k.tenant.as_uuid(),
                &k.name,
                &k.display_prefix,
                &k.secret_hash,
                &k.permissions,
                &k.created_by,
                &now,
                &k.expires_at,
            ],
        )
        .await?;
    Ok(api_key(&row, now))
}

/// The tenant's keys (usable now, or `all`), newest first, from before `cursor`.
pub(crate) async fn list(
    tx: &Transaction<'_>,
    all: bool,
    cursor: Option<Uuid>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<ApiKey>, tokio_postgres::Error> {
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE ($1 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
                                        AND (grace_until IS NULL OR grace_until > $2)))
                    AND ($3::uuid IS NULL OR id < $3)
                  ORDER BY id DESC LIMIT $4"
            ),
            &[&all, &now, &cursor, &limit],
        )
        .await?;
    Ok(rows.iter().map(|r| api_key(r, now)).collect())
}

/// The key `id`, locked for update.
pub(crate) async fn load(
    tx: &Transaction<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<ApiKey>, tokio_postgres::Error> {
    Ok(tx.query_opt(&format!("{SELECT} WHERE id = $1 FOR UPDATE"), &[&id]).await?.map(|r| api_key(&r, now)))
}

/// Marks a key rotated: it works until `grace_until`, `next` replaces it.
pub(crate) async fn set_rotated(
    tx: &Transaction<'_>,
    id: Uuid,
    grace_until: DateTime<Utc>,
    next: Uuid,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE api_keys SET grace_until = $2, replaced_by = $3 WHERE id = $1",
        &[&id, &grace_until, &next],
    )
    .await?;
    Ok(())
}

pub(crate) async fn revoke(
    tx: &Transaction<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE api_keys SET revoked_at = $2 WHERE id = $1", &[&id, &now]).await?;
    Ok(())
}
