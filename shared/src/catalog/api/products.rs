//! Platform category and product routes, and the platform's review of vendor products.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::writer;
use crate::catalog::model::{
    Category, Decision, Dimensions, Product, ProductChanges, ProductFields, check, check_physical,
    check_slug, valid_platform_sku,
};
use crate::catalog::service::products as service;
use crate::catalog::store::products::{self as store, ProductFilter as Filter};
use crate::identity::Principal;
use crate::identity::Scope;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError, nullable};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery, contains_pattern};
use crate::platform::state::AppState;
use crate::platform::validate::{long_text, text};

/// The caller, when their permission reaches only the products they created.
fn own(p: &Principal) -> Option<Uuid> {
    (p.scope == Scope::Own).then_some(p.user_id)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CategoryFilter {
    /// Part of the name or slug, any case.
    pub q: Option<String>,
    pub parent_id: Option<Uuid>,
}

/// The platform's product categories.
#[utoipa::path(get, path = "/api/v1/catalog/categories", operation_id = "catalog_categories_list", tag = "catalog",
    params(CategoryFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = inline(Page<Category>))))]
pub async fn list_categories(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<CategoryFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Category>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let like = f.q.as_deref().map(contains_pattern);
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = store::categories(&tx, like.as_deref(), f.parent_id, cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |c: &Category| c.id)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    /// a-z, 0-9 and '-', unique.
    pub slug: String,
    pub name: String,
    pub parent_id: Option<Uuid>,
}

/// Creates a category (platform staff, acting as the platform).
#[utoipa::path(post, path = "/api/v1/catalog/categories", operation_id = "catalog_categories_create", tag = "catalog",
    request_body = NewCategory, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Category),
        (status = 409, description = "The slug is taken", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn create_category(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewCategory>,
) -> Result<(StatusCode, Json<Category>), ApiError> {
    let mut errors = Vec::new();
    check_slug(&req.slug, &mut errors);
    let name = text(&req.name, "name", 200, &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let kind = principal.tenant_kind(&tx).await?;
    let made =
        service::create_category(&tx, writer(&principal), &kind, &req.slug, &name, req.parent_id).await?;
    audit::record(&tx, &principal, Entry::new("category.created", "category", made.id).after(&made)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    pub name: Option<String>,
    /// `null` moves it to the top level.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
}

/// Renames or moves a category (platform staff, acting as the platform).
#[utoipa::path(patch, path = "/api/v1/catalog/categories/{id}", operation_id = "catalog_categories_update", tag = "catalog",
    params(("id" = Uuid, Path, description = "Category id")), request_body = CategoryPatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Category),
        (status = 404, description = "No such category", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn update_category(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CategoryPatch>,
) -> Result<Json<Category>, ApiError> {
    let id = path_id(&id, "a category")?;
    let mut errors = Vec::new();
    let name = req.name.as_deref().map(|n| text(n, "name", 200, &mut errors));
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let kind = principal.tenant_kind(&tx).await?;
    let (before, after) =
        service::update_category(&tx, writer(&principal), &kind, id, name, req.parent_id).await?;
    let entry = Entry::new("category.updated", "category", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    /// Part of the name or platform SKU, any case.
    pub q: Option<String>,
    /// Exact platform SKU, any case.
    pub sku: Option<String>,
    pub category_id: Option<Uuid>,
    pub active: Option<bool>,
    pub approval_gated: Option<bool>,
    /// `pending`, `approved` or `rejected` (others' products are visible only when approved).
    pub review_status: Option<String>,
    /// `platform` or `vendor`.
    pub source: Option<String>,
}

/// The platform products the acting tenant can see: every approved product, its own in any
/// state (vendors), everything (the platform).
#[utoipa::path(get, path = "/api/v1/catalog/products", operation_id = "catalog_products_list", tag = "catalog",
    params(ProductFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = inline(Page<Product>))))]
pub async fn list_products(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<ProductFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Product>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let filter = Filter {
        like: f.q.as_deref().map(contains_pattern),
        sku: f.sku.as_deref(),
        category_id: f.category_id,
        active: f.active,
        approval_gated: f.approval_gated,
        review_status: f.review_status.as_deref(),
        source: f.source.as_deref(),
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = store::products(&tx, &filter, cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |p: &Product| p.id)))
}

/// One product the acting tenant can see.
#[utoipa::path(get, path = "/api/v1/catalog/products/{id}", operation_id = "catalog_products_get", tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "No such product, or not visible to this tenant", body = crate::Problem),
    ))]
pub async fn get_product(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Product>, ApiError> {
    let id = path_id(&id, "a product")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let found = store::product(&tx, id, false, None).await?;
    tx.commit().await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// The platform SKU: letters, digits, `.`, `_`, `-`; unique; never changes.
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub category_id: Option<Uuid>,
    pub weight_grams: i32,
    pub dimensions_mm: Dimensions,
    /// Default true.
    pub active: Option<bool>,
    /// Default false.
    pub approval_gated: Option<bool>,
}

/// Adds a product: the platform's (approved at once) or, for a marketplace vendor, its own
/// (pending until the platform approves it).
#[utoipa::path(post, path = "/api/v1/catalog/products", operation_id = "catalog_products_create", tag = "catalog",
    request_body = NewProduct, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Product),
        (status = 403, description = "The acting tenant is neither the platform nor a vendor", body = crate::Problem),
        (status = 409, description = "The platform SKU is taken", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn create_product(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewProduct>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    let mut errors = Vec::new();
    let sku = req.sku.trim().to_owned();
    if !valid_platform_sku(&sku) {
        errors.push(FieldError::new(
            "sku",
            "invalid",
            "1-64 of letters, digits, '.', '_', '-', starting with a letter or digit",
        ));
    }
    let fields = ProductFields {
        name: text(&req.name, "name", 200, &mut errors),
        description: long_text(req.description.as_deref(), "description", 5000, &mut errors)
            .unwrap_or_default(),
        category_id: req.category_id,
        weight_grams: req.weight_grams,
        dimensions_mm: req.dimensions_mm,
        active: req.active.unwrap_or(true),
        approval_gated: req.approval_gated.unwrap_or(false),
    };
    check_physical(Some(req.weight_grams), Some(req.dimensions_mm), &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let kind = principal.tenant_kind(&tx).await?;
    let made = service::create_product(&tx, writer(&principal), &kind, &sku, &fields).await?;
    audit::record(&tx, &principal, Entry::new("product.created", "product", made.id).after(&made)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `null` removes the category.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub category_id: Option<Option<Uuid>>,
    pub weight_grams: Option<i32>,
    pub dimensions_mm: Option<Dimensions>,
    pub active: Option<bool>,
    pub approval_gated: Option<bool>,
}

/// Changes a product (its owner, or the platform). A vendor's edit of a rejected product
/// resubmits it for review, and so does a change to an approved product's name, description or
/// category; only the platform changes `approval_gated`. The platform SKU cannot change.
#[utoipa::path(patch, path = "/api/v1/catalog/products/{id}", operation_id = "catalog_products_update", tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")), request_body = ProductPatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Product),
        (status = 404, description = "No such product the caller may change", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn update_product(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ProductPatch>,
) -> Result<Json<Product>, ApiError> {
    let id = path_id(&id, "a product")?;
    let mut errors = Vec::new();
    let changes = ProductChanges {
        name: req.name.as_deref().map(|n| text(n, "name", 200, &mut errors)),
        description: long_text(req.description.as_deref(), "description", 5000, &mut errors),
        category_id: req.category_id,
        weight_grams: req.weight_grams,
        dimensions_mm: req.dimensions_mm,
        active: req.active,
        approval_gated: req.approval_gated,
    };
    check_physical(req.weight_grams, req.dimensions_mm, &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let platform = principal.tenant_kind(&tx).await? == "platform";
    let (before, after) =
        service::update_product(&tx, writer(&principal), platform, own(&principal), id, changes).await?;
    let entry = Entry::new("product.updated", "product", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// `approve` or `reject`.
    pub decision: String,
    /// Why: required to reject, shown to the vendor.
    pub reason: Option<String>,
}

/// The platform's review of a vendor product: approve (every tenant can then sell it) or reject
/// with a reason. Audited.
#[utoipa::path(post, path = "/api/v1/catalog/products/{id}/review", operation_id = "catalog_products_review", tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")), request_body = Review, security(("bearer" = [])),
    responses(
        (status = 200, description = "Reviewed", body = Product),
        (status = 403, description = "Not acting as the platform", body = crate::Problem),
        (status = 404, description = "No such product", body = crate::Problem),
        (status = 422, description = "Invalid decision, or a rejection without a reason", body = crate::Problem),
    ))]
pub async fn review_product(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Review>,
) -> Result<Json<Product>, ApiError> {
    let id = path_id(&id, "a product")?;
    let decision = Decision::parse(&req.decision, req.reason.as_deref())?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let kind = principal.tenant_kind(&tx).await?;
    let (before, after) =
        service::review(&tx, writer(&principal), &kind, own(&principal), id, &decision).await?;
    let entry = Entry::new(decision.action, "product", id)
        .before(serde_json::json!({ "review_status": before.review_status, "review_reason": before.review_reason }))
        .after(serde_json::json!({ "review_status": after.review_status, "review_reason": after.review_reason,
                                   "owner_tenant_id": after.owner_tenant_id, "sku": after.sku }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
