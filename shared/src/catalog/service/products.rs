//! The rules of platform categories and products: who may write them, category trees without
//! cycles, reviews.

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::catalog::model::{
    Category, Decision, Error, Product, ProductChanges, ProductFields, Writer, check_parent,
    require_owner_kind, require_platform, resubmits,
};
use crate::catalog::store::products as store;

/// A parent must exist and must not be the category itself or one of its descendants.
async fn check_new_parent(
    tx: &Transaction<'_>,
    parent: Option<Uuid>,
    own: Option<Uuid>,
) -> Result<(), Error> {
    match parent {
        Some(parent) => check_parent(store::parent_cycle(tx, parent, own).await?),
        None => Ok(()),
    }
}

async fn check_category(tx: &Transaction<'_>, category: Option<Uuid>) -> Result<(), Error> {
    match category {
        Some(id) if !store::category_exists(tx, id).await? => {
            Err(Error::field("category_id", "unknown", "no such category"))
        }
        _ => Ok(()),
    }
}

/// Creates a category (the platform only).
pub async fn create_category(
    tx: &Transaction<'_>,
    by: Writer,
    tenant_kind: &str,
    slug: &str,
    name: &str,
    parent: Option<Uuid>,
) -> Result<Category, Error> {
    require_platform(tenant_kind, "categories")?;
    check_new_parent(tx, parent, None).await?;
    let id = Uuid::now_v7();
    store::insert_category(tx, id, slug, name, parent, by.now).await?;
    store::category_by_id(tx, id, false).await
}

/// Renames or moves a category (the platform only). Returns before and after.
pub async fn update_category(
    tx: &Transaction<'_>,
    by: Writer,
    tenant_kind: &str,
    id: Uuid,
    name: Option<String>,
    parent: Option<Option<Uuid>>,
) -> Result<(Category, Category), Error> {
    require_platform(tenant_kind, "categories")?;
    let before = store::category_by_id(tx, id, true).await?;
    if let Some(parent) = parent {
        check_new_parent(tx, parent, Some(id)).await?;
    }
    let name = name.unwrap_or_else(|| before.name.clone());
    store::update_category(tx, id, &name, parent.unwrap_or(before.parent_id), by.now).await?;
    let after = store::category_by_id(tx, id, false).await?;
    Ok((before, after))
}

/// Adds a product owned by the acting tenant (the platform's, or a vendor's pending review).
pub async fn create_product(
    tx: &Transaction<'_>,
    by: Writer,
    tenant_kind: &str,
    sku: &str,
    f: &ProductFields,
) -> Result<Product, Error> {
    require_owner_kind(tenant_kind)?;
    check_category(tx, f.category_id).await?;
    let id = Uuid::now_v7();
    store::insert_product(tx, by, id, sku, f).await?;
    store::product(tx, id, false, None).await
}

/// Changes a product its owner (or the platform) may change; `own`: the caller, when their
/// permission reaches only what they created. Returns before and after.
pub async fn update_product(
    tx: &Transaction<'_>,
    by: Writer,
    platform: bool,
    own: Option<Uuid>,
    id: Uuid,
    changes: ProductChanges,
) -> Result<(Product, Product), Error> {
    let before = store::product(tx, id, true, own).await?;
    if let Some(c) = changes.category_id {
        check_category(tx, c).await?;
    }
    changes.check_gate(&before, platform)?;
    // A vendor's edit of a rejected product resubmits it; of an approved one, if it changes what the
    // review looked at (name, description, category), the database sends it back to review.
    let resubmit = resubmits(&before, platform);
    store::update_product(tx, id, &changes.applied_to(&before), resubmit, by.now).await?;
    let after = store::product(tx, id, false, None).await?;
    Ok((before, after))
}

/// The platform's review of a product. Returns before and after.
pub async fn review(
    tx: &Transaction<'_>,
    by: Writer,
    tenant_kind: &str,
    own: Option<Uuid>,
    id: Uuid,
    decision: &Decision,
) -> Result<(Product, Product), Error> {
    require_platform(tenant_kind, "reviews")?;
    let before = store::product(tx, id, true, own).await?;
    store::review(tx, by, id, decision).await?;
    let after = store::product(tx, id, false, None).await?;
    Ok((before, after))
}
