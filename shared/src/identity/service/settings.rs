//! A tenant's settings, for its admins, and for the other contexts ([`tenant_setting`]).

use serde_json::Value;
use tokio_postgres::Transaction;

use crate::identity::model::{Error, Principal, Setting, known_setting, settings_of};
use crate::identity::store;
use crate::platform::tenant::TenantId;

/// The acting tenant's settings (set or default).
pub(crate) async fn list(tx: &Transaction<'_>, p: &Principal) -> Result<Vec<Setting>, Error> {
    Ok(settings_of(&store::settings::all(tx, p.tenant).await?))
}

/// Sets one of the acting tenant's settings: its value before (set or default), and the setting.
pub(crate) async fn put(
    tx: &Transaction<'_>,
    p: &Principal,
    key: &str,
    value: Value,
) -> Result<(Option<Value>, Setting), Error> {
    let known = known_setting(key)?;
    known.check(&value)?;
    let before = list(tx, p).await?.into_iter().find(|s| s.key == known.key).map(|s| s.value);
    store::settings::put(tx, p.tenant, known.key, &value, p.now).await?;
    Ok((before, Setting { key: known.key, description: known.description, value, default: false }))
}

/// The tenant's value for setting `key`, when it set one (other contexts read settings only here).
pub async fn tenant_setting(
    tx: &Transaction<'_>,
    tenant: TenantId,
    key: &str,
) -> Result<Option<Value>, tokio_postgres::Error> {
    store::settings::get(tx, tenant, key).await
}
