//! Channels and their deliveries in Postgres.

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::orders::model::{Channel, CheckedChannel, Error, webhook_path};
use crate::platform::error::unique_violation;
use crate::platform::tenant::TenantId;

const SELECT: &str =
    "SELECT c.id, c.code, c.kind, c.name, c.price_tolerance_bp, c.active, c.created_at FROM channels c";

fn channel(r: &Row) -> Channel {
    let (id, kind): (Uuid, String) = (r.get(0), r.get(2));
    Channel {
        id,
        code: r.get(1),
        webhook_path: webhook_path(&kind, id),
        kind,
        name: r.get(3),
        price_tolerance_bp: r.get(4),
        active: r.get(5),
        secret: None,
        created_at: r.get(6),
    }
}

/// Writes a new channel (409 `code_taken` when the tenant has the code) and reads it back.
pub async fn insert(
    tx: &Transaction<'_>,
    tenant: TenantId,
    id: Uuid,
    c: &CheckedChannel,
    sealed: &[u8],
    now: DateTime<Utc>,
) -> Result<Channel, Error> {
    tx.execute(
        "INSERT INTO channels (id, tenant_id, code, kind, name, secret_sealed, price_tolerance_bp, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        &[&id, &tenant.as_uuid(), &c.code, &c.kind, &c.name, &sealed, &c.price_tolerance_bp, &now],
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => Error::Conflict { code: "code_taken", detail: format!("a channel has the code {:?}", c.code) },
        None => e.into(),
    })?;
    let row = tx.query_one(&format!("{SELECT} WHERE c.id = $1"), &[&id]).await?;
    Ok(channel(&row))
}

pub async fn list(tx: &Transaction<'_>, tenant: TenantId) -> Result<Vec<Channel>, tokio_postgres::Error> {
    let rows =
        tx.query(&format!("{SELECT} WHERE c.tenant_id = $1 ORDER BY c.code"), &[&tenant.as_uuid()]).await?;
    Ok(rows.iter().map(channel).collect())
}

/// The acting tenant's channel `id`, locked for a change of its profile (404 when there is none).
pub async fn lock(tx: &Transaction<'_>, id: Uuid) -> Result<Uuid, Error> {
    tx.query_opt("SELECT id FROM channels WHERE id = $1 FOR UPDATE", &[&id])
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| Error::NotFound(format!("channel {id}")))
}

/// The acting tenant's channel `id` (404 when there is none).
pub async fn exists(tx: &Transaction<'_>, id: Uuid) -> Result<Uuid, Error> {
    tx.query_opt("SELECT id FROM channels WHERE id = $1", &[&id])
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| Error::NotFound(format!("channel {id}")))
}

/// What a webhook for channel `id` of `kind` needs before it is authenticated (read through a
/// security-definer function: the tenant is not known until the channel is found).
pub struct Target {
    pub tenant: TenantId,
    pub code: String,
    pub sealed: Option<Vec<u8>>,
    pub tolerance: i32,
    pub active: bool,
}

pub async fn webhook_target(tx: &Transaction<'_>, id: Uuid, kind: &str) -> Result<Option<Target>, Error> {
    let row = tx
        .query_opt(
            "SELECT tenant_id, code, secret_sealed, price_tolerance_bp, active FROM channel_webhook_target($1, $2)",
            &[&id, &kind],
        )
        .await?;
    Ok(row.map(|r| Target {
        tenant: TenantId::from_uuid(r.get(0)),
        code: r.get(1),
        sealed: r.get(2),
        tolerance: r.get(3),
        active: r.get(4),
    }))
}

/// Records a delivery; `false` when it was recorded before (a duplicate).
pub async fn record_delivery(
    tx: &Transaction<'_>,
    tenant: TenantId,
    channel: Uuid,
    key: &str,
    topic: &str,
    now: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let fresh = tx
        .execute(
            "INSERT INTO channel_deliveries (tenant_id, channel_id, dedupe_key, topic, received_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            &[&tenant.as_uuid(), &channel, &key, &topic, &now],
        )
        .await?;
    Ok(fresh == 1)
}

/// The order an earlier delivery with `key` made, with its status now.
pub async fn delivered_order(
    tx: &Transaction<'_>,
    tenant: TenantId,
    channel: Uuid,
    key: &str,
) -> Result<Option<(Uuid, String)>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT o.id, o.status FROM channel_deliveries d JOIN orders o ON o.id = d.order_id
              WHERE d.tenant_id = $1 AND d.channel_id = $2 AND d.dedupe_key = $3",
            &[&tenant.as_uuid(), &channel, &key],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// Notes the order a delivery came to.
pub async fn link_delivery(
    tx: &Transaction<'_>,
    tenant: TenantId,
    channel: Uuid,
    key: &str,
    order: Uuid,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE channel_deliveries SET order_id = $4 WHERE tenant_id = $1 AND channel_id = $2 AND dedupe_key = $3",
        &[&tenant.as_uuid(), &channel, &key, &order],
    )
    .await?;
    Ok(())
}

/// The tenant's active custom channel `code` (any case): id, code, price tolerance.
pub async fn active_custom(
    tx: &Transaction<'_>,
    tenant: TenantId,
    code: &str,
) -> Result<Option<(Uuid, String, i32)>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT id, code, price_tolerance_bp FROM channels WHERE tenant_id = $1 AND code = $2 AND kind = 'custom' AND active",
            &[&tenant.as_uuid(), &code.to_lowercase()],
        )
        .await?
        .map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// A channel's code and price tolerance.
pub async fn terms(
    tx: &Transaction<'_>,
    channel: Uuid,
) -> Result<Option<(String, i32)>, tokio_postgres::Error> {
    Ok(tx
        .query_opt("SELECT code, price_tolerance_bp FROM channels WHERE id = $1", &[&channel])
        .await?
        .map(|r| (r.get(0), r.get(1))))
}
