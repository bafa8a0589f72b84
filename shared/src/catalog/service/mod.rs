//! The catalog's rules, one file per area: functions over a transaction and model types that
//! return the catalog's [`Error`](super::model::Error). No SQL, no axum.

pub mod items;
pub mod mappings;
pub mod pricing;
pub mod products;
pub mod promotions;

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::events::{MAPPINGS_PER_EVENT, MappingRef, MappingsChanged, SkuMappingCreated, SkuMappingUpdated};
use super::model::Error;
use super::store;
use crate::platform::events::{self, DomainEvent, Envelope};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// [`store::products::sellable`], or a refusal on `field` saying the SKU names nothing the tenant
/// can sell.
pub async fn require_sellable(
    tx: &Transaction<'_>,
    platform_sku: &str,
    field: &str,
) -> Result<(Uuid, String), Error> {
    store::products::sellable(tx, platform_sku).await?.ok_or_else(|| {
        Error::field(
            field,
            "unknown_product",
            format!("no platform product {:?} is available to this tenant", platform_sku.trim()),
        )
    })
}

/// Records one `sku_mapping.created` event per 100 mappings, in the caller's transaction.
pub async fn record_created(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    refs: Vec<MappingRef>,
) -> Result<Vec<Envelope>, Error> {
    record_chunked(tx, state, tenant, refs, SkuMappingCreated).await
}

/// Records one `sku_mapping.updated` event per 100 mappings, in the caller's transaction.
pub async fn record_updated(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    refs: Vec<MappingRef>,
) -> Result<Vec<Envelope>, Error> {
    record_chunked(tx, state, tenant, refs, SkuMappingUpdated).await
}

async fn record_chunked<E: DomainEvent>(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    refs: Vec<MappingRef>,
    event: fn(MappingsChanged) -> E,
) -> Result<Vec<Envelope>, Error> {
    let mut out = Vec::new();
    for chunk in refs.chunks(MAPPINGS_PER_EVENT) {
        let e = event(MappingsChanged { mappings: chunk.to_vec() });
        out.push(events::record(tx, Some(tenant), state.clock().as_ref(), &e).await?);
    }
    Ok(out)
}
