//! The rules of SKU mappings: create, re-point, delete, resolve, and the bulk import.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::{record_created, record_updated, require_sellable};
use crate::catalog::model::{
    Applied, BulkMode, BulkReport, Checked, Error, Import, Lookup, LookupColumns, Mapping, Resolution,
    Writer, check_rows, match_products, settle_errors, wanted_skus,
};
use crate::catalog::store::mappings as store;
use crate::catalog::store::products;
use crate::platform::events::Envelope;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// Resolves each lookup for `tenant` (the transaction must be scoped to it): one result per
/// lookup, in order; unknown identifiers are reported per item, never as an error.
pub async fn resolve(
    tx: &Transaction<'_>,
    tenant: TenantId,
    items: &[Lookup],
) -> Result<Vec<Resolution>, Error> {
    store::resolve(tx, tenant, &LookupColumns::of(items)).await
}

/// Maps one checked identifier to the platform product its SKU names; records
/// `sku_mapping.created`.
pub async fn create(
    tx: &Transaction<'_>,
    state: &AppState,
    by: Writer,
    c: &Checked,
) -> Result<(Mapping, Vec<Envelope>), Error> {
    let (product_id, _) = require_sellable(tx, &c.platform_sku, "platform_sku").await?;
    let id = Uuid::now_v7();
    store::insert(tx, by, id, product_id, c).await?;
    let made = store::load(tx, id, false).await?;
    let envelopes = record_created(tx, state, by.tenant, vec![made.reference()]).await?;
    Ok((made, envelopes))
}

/// Re-points a mapping (when `platform_sku` is given) and sets its note (when `note` is given);
/// records `sku_mapping.updated` when the product changes. Returns before and after.
pub async fn update(
    tx: &Transaction<'_>,
    state: &AppState,
    by: Writer,
    id: Uuid,
    platform_sku: Option<&str>,
    note: Option<Option<String>>,
) -> Result<(Mapping, Mapping, Vec<Envelope>), Error> {
    let before = store::load(tx, id, true).await?;
    let product = match platform_sku {
        Some(sku) => require_sellable(tx, sku, "platform_sku").await?.0,
        None => before.product_id,
    };
    store::set_note(tx, id, &note.unwrap_or_else(|| before.note.clone()), by.now).await?;
    if product != before.product_id {
        // Only then: the sellable-product check runs on a write of product_id, and the product the
        // mapping has may since have been withdrawn.
        store::set_product(tx, id, product).await?;
    }
    let after = store::load(tx, id, false).await?;
    let envelopes = if after.product_id != before.product_id {
        record_updated(tx, state, by.tenant, vec![after.reference()]).await?
    } else {
        Vec::new()
    };
    Ok((before, after, envelopes))
}

/// Deletes a mapping; returns it as it was.
pub async fn delete(tx: &Transaction<'_>, id: Uuid) -> Result<Mapping, Error> {
    let before = store::load(tx, id, true).await?;
    store::delete(tx, id).await?;
    Ok(before)
}

/// Applies an import: checks every row, looks up every platform SKU at once, refuses the whole
/// import on any bad row unless `mode` is partial, then writes the valid rows in one statement and
/// records `sku_mapping.created` / `.updated`. Returns the report, what was applied (for the
/// audit entry), and the envelopes to publish.
pub async fn import(
    tx: &Transaction<'_>,
    state: &AppState,
    by: Writer,
    mode: BulkMode,
    import: Import,
) -> Result<(BulkReport, Applied, Vec<Envelope>), Error> {
    let total = import.total();
    let mut errors = import.errors;
    let checked = check_rows(&import.rows, &mut errors);
    let products = products::sellable_by_sku(tx, &wanted_skus(&checked)).await?;
    let valid = match_products(checked, &products, &mut errors);
    settle_errors(mode, &mut errors)?;
    let previous = store::current_products(tx, by.tenant, &valid).await?;
    let mut applied = Applied { previous, ..Applied::default() };
    for (m, created) in store::upsert(tx, by, &valid).await? {
        if created { applied.created.push(m) } else { applied.updated.push(m) }
    }
    applied.unchanged = valid.len() - applied.created.len() - applied.updated.len();
    let report = BulkReport::of(mode, total, &applied, errors);
    let mut envelopes = record_created(tx, state, by.tenant, applied.created.clone()).await?;
    envelopes.extend(record_updated(tx, state, by.tenant, applied.updated.clone()).await?);
    Ok((report, applied, envelopes))
}
