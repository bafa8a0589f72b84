//! Field-mapping profiles in Postgres: versions per channel.

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::orders::model::{Profile, Rules};
use crate::platform::tenant::TenantId;

/// The newest profile of a channel: its version and rules.
pub async fn latest(
    tx: &Transaction<'_>,
    channel: Uuid,
) -> Result<Option<(i32, Rules)>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT version, rules FROM field_mapping_profiles WHERE channel_id = $1 ORDER BY version DESC LIMIT 1",
            &[&channel],
        )
        .await?;
    Ok(row.and_then(|r| serde_json::from_value::<Rules>(r.get(1)).ok().map(|rules| (r.get(0), rules))))
}

/// The version the next profile of `channel` gets (the channel is locked by the caller).
pub async fn next_version(tx: &Transaction<'_>, channel: Uuid) -> Result<i32, tokio_postgres::Error> {
    Ok(tx
        .query_one(
            "SELECT COALESCE(max(version), 0) + 1 FROM field_mapping_profiles WHERE channel_id = $1",
            &[&channel],
        )
        .await?
        .get(0))
}

pub async fn insert(
    tx: &Transaction<'_>,
    tenant: TenantId,
    made: &Profile,
    rules: &serde_json::Value,
    by: Uuid,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO field_mapping_profiles (id, tenant_id, channel_id, version, rules, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&made.id, &tenant.as_uuid(), &made.channel_id, &made.version, rules, &by, &made.created_at],
    )
    .await?;
    Ok(())
}
