//! The rules of a tenant's catalog: an item's tenant SKU resolves to its product, so adding an
//! item, or changing its tenant SKU, records `sku_mapping.created`.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::{record_created, require_sellable};
use crate::catalog::model::{CatalogItem, Error, ItemFields, Writer};
use crate::catalog::store::items as store;
use crate::platform::events::Envelope;
use crate::platform::state::AppState;

/// Adds the product `platform_sku` names to the tenant's catalog under checked fields.
pub async fn create(
    tx: &Transaction<'_>,
    state: &AppState,
    by: Writer,
    platform_sku: &str,
    f: ItemFields,
) -> Result<(CatalogItem, Vec<Envelope>), Error> {
    let (product_id, _) = require_sellable(tx, platform_sku, "platform_sku").await?;
    let id = Uuid::now_v7();
    let f = ItemFields {
        description: Some(f.description.unwrap_or_default()),
        visibility: Some(f.visibility.unwrap_or_else(|| "visible".into())),
        ..f
    };
    store::insert(tx, by, id, product_id, &f).await?;
    let made = store::load(tx, id, false).await?;
    let envelopes = record_created(tx, state, by.tenant, vec![made.resolves()]).await?;
    Ok((made, envelopes))
}

/// Changes an item's checked fields (those given). Returns before and after.
pub async fn update(
    tx: &Transaction<'_>,
    state: &AppState,
    by: Writer,
    id: Uuid,
    f: ItemFields,
) -> Result<(CatalogItem, CatalogItem, Vec<Envelope>), Error> {
    let before = store::load(tx, id, true).await?;
    let changed = CatalogItem {
        tenant_sku: f.tenant_sku.unwrap_or_else(|| before.tenant_sku.clone()),
        name: f.name.unwrap_or_else(|| before.name.clone()),
        description: f.description.unwrap_or_else(|| before.description.clone()),
        visibility: f.visibility.unwrap_or_else(|| before.visibility.clone()),
        ..before.clone()
    };
    store::update(tx, &changed, by.now).await?;
    let after = store::load(tx, id, false).await?;
    let envelopes = if !after.tenant_sku.eq_ignore_ascii_case(&before.tenant_sku) {
        record_created(tx, state, by.tenant, vec![after.resolves()]).await?
    } else {
        Vec::new()
    };
    Ok((before, after, envelopes))
}

/// Removes an item; returns it as it was.
pub async fn delete(tx: &Transaction<'_>, id: Uuid) -> Result<CatalogItem, Error> {
    let before = store::load(tx, id, true).await?;
    store::delete(tx, id).await?;
    Ok(before)
}
