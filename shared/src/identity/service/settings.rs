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

/// One email per operations contact of `tenant` (setting `notifications.operations_emails`); the
/// events to publish after commit. None set: a warning, and whatever raised it is the only trace.
pub async fn notify_operations(
    tx: &Transaction<'_>,
    clock: &dyn crate::platform::clock::Clock,
    tenant: TenantId,
    subject: &str,
    text: &str,
) -> Result<Vec<crate::platform::events::Envelope>, crate::platform::events::EventError> {
    use crate::notifications::{EmailRequested, EmailTemplate};
    let contacts = tenant_setting(tx, tenant, "notifications.operations_emails").await?;
    let contacts: Vec<String> = contacts.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    if contacts.is_empty() {
        tracing::warn!(tenant = %tenant, subject, "the tenant has no operations contacts to tell");
    }
    let mut out = Vec::new();
    for to in contacts {
        let mut params = serde_json::Map::new();
        params.insert("subject".into(), subject.into());
        params.insert("text".into(), text.into());
        let mail = EmailRequested { to, template: EmailTemplate::Notice, params };
        out.push(crate::platform::events::record(tx, Some(tenant), clock, &mail).await?);
    }
    Ok(out)
}

/// The platform's own tenants (kind `platform`), oldest first: what no one tenant owns — a
/// dead-letter queue filling, a gateway's breaker open — is theirs to see and be told about.
pub async fn platform_tenants(tx: &Transaction<'_>) -> Result<Vec<TenantId>, tokio_postgres::Error> {
    crate::identity::store::tenants::platform_ids(tx).await
}
