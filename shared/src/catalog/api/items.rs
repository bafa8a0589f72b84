//! Catalog item routes: a tenant's own catalog (list, get, add, change, remove).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::writer;
use crate::catalog::model::{CatalogItem, ItemFields, check, check_visibility};
use crate::catalog::service::items as service;
use crate::catalog::store::items::{self as store, Filter};
use crate::identity::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::events;
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery, contains_pattern};
use crate::platform::state::AppState;
use crate::platform::validate::{identifier, long_text, text};

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
    let filter = Filter {
        like: f.q.as_deref().map(contains_pattern),
        visibility: f.visibility.as_deref(),
        product_id: f.product_id,
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = store::list(&tx, principal.tenant, &filter, cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |i: &CatalogItem| i.id)))
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
    let found = store::load(&tx, id, false).await?;
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
    let fields = ItemFields {
        tenant_sku: Some(identifier(&req.tenant_sku, "tenant_sku", &mut errors)),
        name: req.name.as_deref().map(|n| text(n, "name", 200, &mut errors)),
        description: long_text(req.description.as_deref(), "description", 5000, &mut errors),
        visibility: req.visibility.clone(),
    };
    check_visibility(req.visibility.as_deref(), &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (made, envelopes) =
        service::create(&tx, &state, writer(&principal), &req.platform_sku, fields).await?;
    audit::record(&tx, &principal, Entry::new("catalog_item.created", "catalog_item", made.id).after(&made))
        .await?;
    tx.commit().await?;
    events::publish_committed(&state, &envelopes).await?;
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
    let fields = ItemFields {
        tenant_sku: req.tenant_sku.as_deref().map(|s| identifier(s, "tenant_sku", &mut errors)),
        name: req.name.as_deref().map(|n| text(n, "name", 200, &mut errors)),
        description: long_text(req.description.as_deref(), "description", 5000, &mut errors),
        visibility: req.visibility.clone(),
    };
    check_visibility(req.visibility.as_deref(), &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (before, after, envelopes) = service::update(&tx, &state, writer(&principal), id, fields).await?;
    let entry = Entry::new("catalog_item.updated", "catalog_item", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    events::publish_committed(&state, &envelopes).await?;
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
    let before = service::delete(&tx, id).await?;
    audit::record(&tx, &principal, Entry::new("catalog_item.deleted", "catalog_item", id).before(&before))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
