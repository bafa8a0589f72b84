//! A tenant's catalog: which platform products it sells, under which private-label name and
//! tenant SKU, and whether its storefronts show them. A tenant SKU resolves to its product (after
//! explicit mappings, see [`super::mappings`]), so adding an item emits `sku_mapping.created`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::{Row, Transaction};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::mappings::{MappingRef, record_created};
use super::require_sellable;
use crate::identity::principal::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError, unique_violation};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery, contains_pattern};
use crate::platform::state::AppState;
use crate::platform::validate::{check, identifier, long_text, text};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogItem {
    pub id: Uuid,
    pub product_id: Uuid,
    pub platform_sku: String,
    /// The platform's name for the product.
    pub product_name: String,
    /// The tenant's own SKU for it.
    pub tenant_sku: String,
    /// The tenant's (private-label) name.
    pub name: String,
    pub description: String,
    /// `visible` or `hidden` (in the tenant's storefronts).
    pub visibility: String,
    /// False when the platform deactivated the product.
    pub product_active: bool,
    pub approval_gated: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str =
    "SELECT i.id, i.product_id, p.sku, p.name, i.tenant_sku, i.name, i.description, i.visibility,
        p.active, p.approval_gated, i.created_at, i.updated_at
   FROM catalog_items i JOIN products p ON p.id = i.product_id";

fn item(r: &Row) -> CatalogItem {
    CatalogItem {
        id: r.get(0),
        product_id: r.get(1),
        platform_sku: r.get(2),
        product_name: r.get(3),
        tenant_sku: r.get(4),
        name: r.get(5),
        description: r.get(6),
        visibility: r.get(7),
        product_active: r.get(8),
        approval_gated: r.get(9),
        created_at: r.get(10),
        updated_at: r.get(11),
    }
}

fn check_visibility(v: Option<&str>, errors: &mut Vec<FieldError>) {
    if v.is_some_and(|v| v != "visible" && v != "hidden") {
        errors.push(FieldError::new("visibility", "invalid", "visible or hidden"));
    }
}

fn conflict(e: tokio_postgres::Error, sku: &str) -> ApiError {
    match unique_violation(&e) {
        Some("catalog_items_sku") => ApiError::Conflict {
            code: "tenant_sku_taken",
            detail: format!("another item has the tenant SKU {sku:?}"),
        },
        Some(_) => ApiError::Conflict {
            code: "already_in_catalog",
            detail: "the catalog already sells this product (add further SKUs as aliases)".into(),
        },
        None => e.into(),
    }
}

async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<CatalogItem, ApiError> {
    crate::platform::db::by_id(tx, SELECT, "i", id, lock, "catalog item", item).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemFilter {
    /// Part of the tenant SKU, platform SKU or either name, any case.
    pub q: Option<String>,
    /// `visible` or `hidden`.
    pub visibility: Option<String>,
    pub product_id: Option<Uuid>,
}

/// The acting tenant's catalog, newest first.
#[utoipa::path(get, path = "/api/v1/catalog/items", operation_id = "catalog_items_list", tag = "catalog",
    params(ItemFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = inline(Page<CatalogItem>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<ItemFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<CatalogItem>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let like = f.q.as_deref().map(contains_pattern);
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE i.tenant_id = $1
                   AND ($2::text IS NULL OR i.tenant_sku ILIKE $2 OR p.sku ILIKE $2 OR i.name ILIKE $2 OR p.name ILIKE $2)
                   AND ($3::text IS NULL OR i.visibility = $3) AND ($4::uuid IS NULL OR i.product_id = $4)
                   AND ($5::uuid IS NULL OR i.id < $5)
                 ORDER BY i.id DESC LIMIT $6"
            ),
            &[&principal.tenant.as_uuid(), &like, &f.visibility, &f.product_id, &cursor, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(item).collect(), limit, |i: &CatalogItem| i.id)))
}

/// One item of the acting tenant's catalog.
#[utoipa::path(get, path = "/api/v1/catalog/items/{id}", operation_id = "catalog_items_get", tag = "catalog",
    params(("id" = Uuid, Path, description = "Catalog item id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The item", body = CatalogItem),
        (status = 404, description = "No such item", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CatalogItem>, ApiError> {
    let id = path_id(&id, "a catalog item")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let found = load(&tx, id, false).await?;
    tx.commit().await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// The platform product to sell (approved products only).
    pub platform_sku: String,
    /// The tenant's own SKU for it (unique in the tenant, any case).
    pub tenant_sku: String,
    /// The private-label name (default: the platform's name).
    pub name: Option<String>,
    pub description: Option<String>,
    /// `visible` (default) or `hidden`.
    pub visibility: Option<String>,
}

/// Adds a platform product to the acting tenant's catalog under its own SKU and name.
#[utoipa::path(post, path = "/api/v1/catalog/items", operation_id = "catalog_items_create", tag = "catalog",
    request_body = NewItem, security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = CatalogItem),
        (status = 409, description = "The tenant SKU is taken, or the product is already in the catalog", body = crate::Problem),
        (status = 422, description = "Invalid fields, or no such platform product", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewItem>,
) -> Result<(StatusCode, Json<CatalogItem>), ApiError> {
    let mut errors = Vec::new();
    let tenant_sku = identifier(&req.tenant_sku, "tenant_sku", &mut errors);
    let name = req.name.as_deref().map(|n| text(n, "name", 200, &mut errors));
    let description =
        long_text(req.description.as_deref(), "description", 5000, &mut errors).unwrap_or_default();
    check_visibility(req.visibility.as_deref(), &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (product_id, _) = require_sellable(&tx, &req.platform_sku, "platform_sku").await?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO catalog_items (id, tenant_id, product_id, tenant_sku, name, description, visibility, created_by,
                                    created_at, updated_at)
         SELECT $1, $2, $3, $4, COALESCE($5, p.name), $6, $7, $8, $9, $9 FROM products p WHERE p.id = $3",
        &[
            &id,
            &principal.tenant.as_uuid(),
            &product_id,
            &tenant_sku,
            &name,
            &description,
            &req.visibility.as_deref().unwrap_or("visible"),
            &principal.user_id,
            &principal.now,
        ],
    )
    .await
    .map_err(|e| conflict(e, &tenant_sku))?;
    let made = load(&tx, id, false).await?;
    let resolves = MappingRef {
        id,
        kind: "tenant_sku".into(),
        channel: None,
        identifier: made.tenant_sku.clone(),
        variant_id: None,
        product_id,
    };
    let envelopes = record_created(&tx, &state, principal.tenant, vec![resolves]).await?;
    audit::record(&tx, &principal, Entry::new("catalog_item.created", "catalog_item", id).after(&made))
        .await?;
    tx.commit().await?;
    crate::platform::events::publish_committed(&state, &envelopes).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    pub tenant_sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<String>,
}

/// Changes an item's tenant SKU, name, description or visibility.
#[utoipa::path(patch, path = "/api/v1/catalog/items/{id}", operation_id = "catalog_items_update", tag = "catalog",
    params(("id" = Uuid, Path, description = "Catalog item id")), request_body = ItemPatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = CatalogItem),
        (status = 404, description = "No such item", body = crate::Problem),
        (status = 409, description = "The tenant SKU is taken", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ItemPatch>,
) -> Result<Json<CatalogItem>, ApiError> {
    let id = path_id(&id, "a catalog item")?;
    let mut errors = Vec::new();
    let tenant_sku = req.tenant_sku.as_deref().map(|s| identifier(s, "tenant_sku", &mut errors));
    let name = req.name.as_deref().map(|n| text(n, "name", 200, &mut errors));
    let description = long_text(req.description.as_deref(), "description", 5000, &mut errors);
    check_visibility(req.visibility.as_deref(), &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, id, true).await?;
    let tenant_sku = tenant_sku.unwrap_or_else(|| before.tenant_sku.clone());
    tx.execute(
        "UPDATE catalog_items SET tenant_sku = $2, name = $3, description = $4, visibility = $5, updated_at = $6
          WHERE id = $1",
        &[
            &id,
            &tenant_sku,
            &name.unwrap_or_else(|| before.name.clone()),
            &description.unwrap_or_else(|| before.description.clone()),
            &req.visibility.unwrap_or_else(|| before.visibility.clone()),
            &principal.now,
        ],
    )
    .await
    .map_err(|e| conflict(e, &tenant_sku))?;
    let after = load(&tx, id, false).await?;
    let envelopes = if !after.tenant_sku.eq_ignore_ascii_case(&before.tenant_sku) {
        let resolves = MappingRef {
            id,
            kind: "tenant_sku".into(),
            channel: None,
            identifier: after.tenant_sku.clone(),
            variant_id: None,
            product_id: after.product_id,
        };
        record_created(&tx, &state, principal.tenant, vec![resolves]).await?
    } else {
        Vec::new()
    };
    let entry = Entry::new("catalog_item.updated", "catalog_item", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    crate::platform::events::publish_committed(&state, &envelopes).await?;
    Ok(Json(after))
}

/// Removes a product from the acting tenant's catalog.
#[utoipa::path(delete, path = "/api/v1/catalog/items/{id}", operation_id = "catalog_items_delete", tag = "catalog",
    params(("id" = Uuid, Path, description = "Catalog item id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such item", body = crate::Problem),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, "a catalog item")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, id, true).await?;
    tx.execute("DELETE FROM catalog_items WHERE id = $1", &[&id]).await?;
    audit::record(&tx, &principal, Entry::new("catalog_item.deleted", "catalog_item", id).before(&before))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
