//! Field-mapping profiles: saving a new version of a channel's rules, and reading a payload with
//! the newest (or given) rules.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::orders::OrderInput;
use crate::orders::model::{Error, Preview, Profile, Rules, apply, check_rules};
use crate::orders::store::{channels, profiles as store};
use crate::platform::tenant::TenantId;

/// Saves `rules` as the next version of channel `channel`'s profile.
pub async fn create(
    tx: &Transaction<'_>,
    tenant: TenantId,
    channel: Uuid,
    rules: Rules,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<Profile, Error> {
    check_rules(&rules)?;
    let channel = channels::lock(tx, channel).await?;
    let version = store::next_version(tx, channel).await?;
    let json = serde_json::to_value(&rules).map_err(|e| Error::Internal(e.to_string()))?;
    let made = Profile { id: Uuid::now_v7(), channel_id: channel, version, rules, created_at: now };
    store::insert(tx, tenant, &made, &json, by).await?;
    Ok(made)
}

/// What a profile (the rules given, or the channel's newest) reads from `payload`.
pub async fn preview(
    tx: &Transaction<'_>,
    channel: Uuid,
    rules: Option<Rules>,
    payload: &Value,
) -> Result<Preview, Error> {
    let channel = channels::exists(tx, channel).await?;
    let (version, rules) = match rules {
        Some(r) => {
            check_rules(&r)?;
            (None, r)
        }
        None => {
            let (v, r) = store::latest(tx, channel)
                .await?
                .ok_or_else(|| Error::NotFound(format!("a profile for channel {channel}")))?;
            (Some(v), r)
        }
    };
    Ok(Preview { version, order: apply(&rules, payload)? })
}

/// A custom channel named by `X-Channel`, with the version of its profile a payload was read with.
pub struct CustomChannel {
    pub id: Uuid,
    pub code: String,
    pub tolerance: i32,
    pub version: i32,
}

/// The tenant's active custom channel `code` and `body` read through its newest profile.
pub async fn read_custom(
    tx: &Transaction<'_>,
    tenant: TenantId,
    code: &str,
    body: &Value,
) -> Result<(CustomChannel, OrderInput), Error> {
    let (id, found_code, tolerance) = channels::active_custom(tx, tenant, code).await?.ok_or_else(|| {
        Error::field("header:x-channel", "unknown_channel", format!("no active custom channel {code:?}"))
    })?;
    let (version, rules) = store::latest(tx, id).await?.ok_or_else(|| {
        Error::field(
            "header:x-channel",
            "no_profile",
            format!("channel {code:?} has no field-mapping profile"),
        )
    })?;
    let input = apply(&rules, body)?;
    Ok((CustomChannel { id, code: found_code, tolerance, version }, input))
}
