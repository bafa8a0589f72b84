//! The `orders-on-mapping` consumer: when SKU mappings appear (`sku_mapping.created`, or a
//! re-point, `sku_mapping.updated`), the tenant's orders held for an unknown SKU that one of those
//! identifiers could resolve are run through intake again — accepted, without anyone stepping in,
//! once nothing else holds them.

use uuid::Uuid;

use super::service::orders::revalidate_order;
use crate::catalog::MappingsChanged;
use crate::platform::consumer::Delivery;
use crate::platform::db::scoped_tx;
use crate::platform::error::Cause;
use crate::platform::state::AppState;

pub async fn on_mappings(state: &AppState, delivery: Delivery<MappingsChanged>) -> Result<(), Cause> {
    let Some(tenant) = delivery.envelope.tenant_id else { return Ok(()) };
    let identifiers: Vec<String> =
        delivery.envelope.data.mappings.iter().map(|m| m.identifier.to_lowercase()).collect();
    let db = state.db().await?;
    let mut conn = db.conn().await?;
    let held: Vec<Uuid> = {
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        let mut held = Vec::new();
        for id in super::store::orders::held_with_unmapped(&tx, tenant, &identifiers).await? {
            if crate::platform::exceptions::open_kinds(&*tx, id).await?.iter().any(|k| k == "unknown_sku") {
                held.push(id);
            }
        }
        tx.commit().await?;
        held
    };
    // One transaction per order: one that cannot be revalidated now does not hold back the rest.
    for id in held {
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        match revalidate_order(&tx, state, tenant, id, ("system", None), state.clock().now()).await {
            Ok((holds, envelope)) => {
                tx.commit().await?;
                tracing::info!(order_id = %id, accepted = envelope.is_some(), holds = holds.len(), "order revalidated");
                crate::platform::events::publish_committed(state, &envelope.into_iter().collect::<Vec<_>>())
                    .await?;
            }
            // Moved on meanwhile (accepted by hand, cancelled): nothing to do.
            Err(crate::orders::Error::Conflict { .. }) => tx.rollback().await?,
            // Refused as it stands now (e.g. the new mapping names an approval-gated product this
            // customer has no approval for): it stays held for a person; the others go on.
            Err(e @ crate::orders::Error::Invalid(_)) => {
                tx.rollback().await?;
                tracing::warn!(order_id = %id, error = %e, "held order still refused on revalidation");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
