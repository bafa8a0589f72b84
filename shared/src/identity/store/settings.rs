//! `tenant_settings`: a tenant's values, read and written.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Transaction;

use crate::identity::model::IDLE_SETTING;
use crate::platform::tenant::TenantId;

/// Every setting the tenant set.
pub(crate) async fn all(
    tx: &Transaction<'_>,
    tenant: TenantId,
) -> Result<HashMap<String, Value>, tokio_postgres::Error> {
    let rows =
        tx.query("SELECT key, value FROM tenant_settings WHERE tenant_id = $1", &[&tenant.as_uuid()]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The tenant's value for `key`, when it set one.
pub(crate) async fn get(
    tx: &Transaction<'_>,
    tenant: TenantId,
    key: &str,
) -> Result<Option<Value>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT value FROM tenant_settings WHERE tenant_id = $1 AND key = $2",
            &[&tenant.as_uuid(), &key],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Sets `key` to `value` for the tenant.
pub(crate) async fn put(
    tx: &Transaction<'_>,
    tenant: TenantId,
    key: &str,
    value: &Value,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO tenant_settings (tenant_id, key, value, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        &[&tenant.as_uuid(), &key, value, &now],
    )
    .await?;
    Ok(())
}

/// Sets the tenant's session idle timeout (minutes).
pub(crate) async fn set_idle(
    tx: &Transaction<'_>,
    tenant: TenantId,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO tenant_settings (tenant_id, key, value, updated_at) VALUES ($1, $2, to_jsonb($3::bigint), $4)
         ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        &[&tenant.as_uuid(), &IDLE_SETTING, &minutes, &now],
    )
    .await?;
    Ok(())
}
