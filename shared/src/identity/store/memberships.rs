//! `tenant_users` and `role_grants`: a person's membership of a tenant and the roles it holds.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::platform::tenant::TenantId;

/// Makes the membership active (creating it if there is none).
pub(crate) async fn activate(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO tenant_users (tenant_id, user_id, status, created_at, updated_at) VALUES ($1, $2, 'active', $3, $3)
         ON CONFLICT (tenant_id, user_id) DO UPDATE
           SET status = 'active', updated_at = EXCLUDED.updated_at, deactivated_at = NULL",
        &[&tenant.as_uuid(), &user, &now],
    )
    .await?;
    Ok(())
}

/// Makes the membership `invited` (creating it if there is none), unless it is active; a non-empty
/// `name` becomes how the tenant names the member. Returns the status afterwards.
pub(crate) async fn invite(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, tokio_postgres::Error> {
    Ok(tx
        .query_one(
            "INSERT INTO tenant_users (tenant_id, user_id, status, display_name, created_at, updated_at)
             VALUES ($1, $2, 'invited', NULLIF($4, ''), $3, $3)
             ON CONFLICT (tenant_id, user_id) DO UPDATE
               SET status = CASE WHEN tenant_users.status = 'active' THEN 'active' ELSE 'invited' END,
                   display_name = COALESCE(EXCLUDED.display_name, tenant_users.display_name),
                   updated_at = EXCLUDED.updated_at
             RETURNING status",
            &[&tenant.as_uuid(), &user, &now, &name],
        )
        .await?
        .get(0))
}

/// Marks the membership deactivated.
pub(crate) async fn deactivate(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE tenant_users SET status = 'deactivated', deactivated_at = $3, updated_at = $3
          WHERE tenant_id = $1 AND user_id = $2",
        &[&tenant.as_uuid(), &user, &now],
    )
    .await?;
    Ok(())
}

/// How the tenant names the member (`None`: the user's own name).
pub(crate) async fn rename(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE tenant_users SET display_name = $3, updated_at = $4 WHERE tenant_id = $1 AND user_id = $2",
        &[&tenant.as_uuid(), &user, &name, &now],
    )
    .await?;
    Ok(())
}

/// The membership holds exactly `roles` afterwards (grants it already had keep their grantor).
pub(crate) async fn set_roles(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    roles: &[String],
    granted_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "DELETE FROM role_grants WHERE tenant_id = $1 AND user_id = $2 AND NOT (role_code = ANY($3))",
        &[&tenant.as_uuid(), &user, &roles],
    )
    .await?;
    tx.execute(
        "INSERT INTO role_grants (tenant_id, user_id, role_code, granted_by, granted_at)
         SELECT $1, $2, r, $4, $5 FROM unnest($3::text[]) AS r ON CONFLICT DO NOTHING",
        &[&tenant.as_uuid(), &user, &roles, &granted_by, &now],
    )
    .await?;
    Ok(())
}

/// Whether `user` is an active member of `tenant` and the tenant is active.
pub(crate) async fn is_active_in_active_tenant(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM tenant_users m JOIN tenants t ON t.id = m.tenant_id
              WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.status = 'active' AND t.status = 'active'",
            &[&tenant.as_uuid(), &user],
        )
        .await?
        .is_some())
}
