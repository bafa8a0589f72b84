//! Platform categories and products. The platform tenant owns the catalog and its categories;
//! marketplace vendors submit their own products, which every other tenant sees only once the
//! platform approved them (row-level security decides, a trigger keeps review decisions to the
//! platform). A product's platform SKU never changes: mappings, prices and orders name it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::{Row, Transaction};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::identity::principal::Principal;
use crate::identity::roles::Scope;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError, nullable, unique_violation};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery, contains_pattern};
use crate::platform::state::AppState;
use crate::platform::validate::{check, long_text, text};

// ---------------------------------------------------------------------------------------------
// Categories

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CATEGORY: &str = "SELECT id, slug, name, parent_id, created_at, updated_at FROM categories";

fn category(r: &Row) -> Category {
    Category {
        id: r.get(0),
        slug: r.get(1),
        name: r.get(2),
        parent_id: r.get(3),
        created_at: r.get(4),
        updated_at: r.get(5),
    }
}

/// Categories and products of the platform are written only by the platform tenant.
async fn require_platform(tx: &Transaction<'_>, p: &Principal, what: &str) -> Result<(), ApiError> {
    if p.tenant_kind(tx).await? == "platform" {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("{what} belong to the platform: act as the platform tenant")))
    }
}

async fn check_parent(tx: &Transaction<'_>, parent: Option<Uuid>, own: Option<Uuid>) -> Result<(), ApiError> {
    let Some(parent) = parent else { return Ok(()) };
    // The parent must exist and must not be the category itself or one of its descendants.
    let cycle = tx
        .query_opt(
            "WITH RECURSIVE up AS (SELECT id, parent_id FROM categories WHERE id = $1
                UNION ALL SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id)
             SELECT COALESCE(bool_or(id = $2), false) FROM up HAVING count(*) > 0",
            &[&parent, &own],
        )
        .await?
        .and_then(|r| r.get::<_, Option<bool>>(0));
    match cycle {
        None => Err(ApiError::Validation(vec![FieldError::new("parent_id", "unknown", "no such category")])),
        Some(true) => Err(ApiError::Validation(vec![FieldError::new(
            "parent_id",
            "cycle",
            "a category cannot sit under itself",
        )])),
        Some(false) => Ok(()),
    }
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
    let rows = tx
        .query(
            &format!(
                "{CATEGORY} WHERE ($1::text IS NULL OR name ILIKE $1 OR slug ILIKE $1)
                   AND ($2::uuid IS NULL OR parent_id = $2) AND ($3::uuid IS NULL OR id < $3)
                 ORDER BY id DESC LIMIT $4"
            ),
            &[&like, &f.parent_id, &cursor, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(category).collect(), limit, |c: &Category| c.id)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    /// a-z, 0-9 and '-', unique.
    pub slug: String,
    pub name: String,
    pub parent_id: Option<Uuid>,
}

fn check_slug(slug: &str, errors: &mut Vec<FieldError>) {
    let ok = (1..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !ok {
        errors.push(FieldError::new("slug", "invalid", "1-63 of a-z, 0-9 and '-', not starting with '-'"));
    }
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
    require_platform(&tx, &principal, "categories").await?;
    check_parent(&tx, req.parent_id, None).await?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO categories (id, slug, name, parent_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        &[&id, &req.slug, &name, &req.parent_id, &principal.now],
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => ApiError::Conflict { code: "slug_taken", detail: format!("a category has the slug {:?}", req.slug) },
        None => e.into(),
    })?;
    let made = category(&tx.query_one(&format!("{CATEGORY} WHERE id = $1"), &[&id]).await?);
    audit::record(&tx, &principal, Entry::new("category.created", "category", id).after(&made)).await?;
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
    require_platform(&tx, &principal, "categories").await?;
    let before = tx
        .query_opt(&format!("{CATEGORY} WHERE id = $1 FOR UPDATE"), &[&id])
        .await?
        .map(|r| category(&r))
        .ok_or_else(|| ApiError::NotFound(format!("category {id}")))?;
    if let Some(parent) = req.parent_id {
        check_parent(&tx, parent, Some(id)).await?;
    }
    let parent = req.parent_id.unwrap_or(before.parent_id);
    let name = name.unwrap_or_else(|| before.name.clone());
    tx.execute(
        "UPDATE categories SET name = $2, parent_id = $3, updated_at = $4 WHERE id = $1",
        &[&id, &name, &parent, &principal.now],
    )
    .await?;
    let after = category(&tx.query_one(&format!("{CATEGORY} WHERE id = $1"), &[&id]).await?);
    let entry = Entry::new("category.updated", "category", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

// ---------------------------------------------------------------------------------------------
// Products

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    pub length: i32,
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    pub id: Uuid,
    /// The platform SKU every mapping resolves to. Never changes.
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category_id: Option<Uuid>,
    pub weight_grams: i32,
    /// Length, width and height in millimetres (for shipping).
    pub dimensions_mm: Dimensions,
    pub active: bool,
    /// Orderable only for a customer with a registered, unexpired approval.
    pub approval_gated: bool,
    /// `platform` (the platform's own) or `vendor` (a marketplace vendor's).
    pub source: String,
    /// The owning tenant: shown to the owner and to the platform only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_tenant_id: Option<Uuid>,
    /// `pending`, `approved` or `rejected`; only approved products are visible to other tenants.
    pub review_status: String,
    pub review_reason: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const PRODUCT: &str = "SELECT p.id, p.sku, p.name, p.description, p.category_id, p.weight_grams, p.length_mm,
        p.width_mm, p.height_mm, p.active, p.approval_gated, p.source,
        CASE WHEN p.owner_tenant_id = app_current_tenant() OR (SELECT app_acting_as_platform())
             THEN p.owner_tenant_id END,
        p.review_status, p.review_reason, p.reviewed_at, p.created_at, p.updated_at, p.created_by
   FROM products p";

fn product(r: &Row) -> Product {
    Product {
        id: r.get(0),
        sku: r.get(1),
        name: r.get(2),
        description: r.get(3),
        category_id: r.get(4),
        weight_grams: r.get(5),
        dimensions_mm: Dimensions { length: r.get(6), width: r.get(7), height: r.get(8) },
        active: r.get(9),
        approval_gated: r.get(10),
        source: r.get(11),
        owner_tenant_id: r.get(12),
        review_status: r.get(13),
        review_reason: r.get(14),
        reviewed_at: r.get(15),
        created_at: r.get(16),
        updated_at: r.get(17),
    }
}

/// Whether `sku` is a well-formed platform SKU (letters, digits, `.`, `_`, `-`; up to 64; no `/`:
/// it appears in paths).
pub fn valid_platform_sku(sku: &str) -> bool {
    let b = sku.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

fn check_physical(weight: Option<i32>, dims: Option<Dimensions>, errors: &mut Vec<FieldError>) {
    if weight.is_some_and(|w| !(1..=1_000_000).contains(&w)) {
        errors.push(FieldError::new("weight_grams", "out_of_range", "1 to 1000000 grams"));
    }
    if let Some(d) = dims {
        for (name, v) in [("length", d.length), ("width", d.width), ("height", d.height)] {
            if !(1..=10_000).contains(&v) {
                errors.push(FieldError::new(
                    format!("dimensions_mm.{name}"),
                    "out_of_range",
                    "1 to 10000 mm",
                ));
            }
        }
    }
}

async fn check_category(tx: &Transaction<'_>, category: Option<Uuid>) -> Result<(), ApiError> {
    let Some(id) = category else { return Ok(()) };
    if tx.query_opt("SELECT 1 FROM categories WHERE id = $1", &[&id]).await?.is_none() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "category_id",
            "unknown",
            "no such category",
        )]));
    }
    Ok(())
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
    let like = f.q.as_deref().map(contains_pattern);
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            &format!(
                "{PRODUCT} WHERE ($1::text IS NULL OR p.name ILIKE $1 OR p.sku ILIKE $1)
                   AND ($2::text IS NULL OR lower(p.sku) = lower($2))
                   AND ($3::uuid IS NULL OR p.category_id = $3) AND ($4::bool IS NULL OR p.active = $4)
                   AND ($5::bool IS NULL OR p.approval_gated = $5) AND ($6::text IS NULL OR p.review_status = $6)
                   AND ($7::text IS NULL OR p.source = $7) AND ($8::uuid IS NULL OR p.id < $8)
                 ORDER BY p.id DESC LIMIT $9"
            ),
            &[
                &like,
                &f.sku,
                &f.category_id,
                &f.active,
                &f.approval_gated,
                &f.review_status,
                &f.source,
                &cursor,
                &(limit + 1),
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(product).collect(), limit, |p: &Product| p.id)))
}

/// A product the acting tenant can see (404 otherwise). `for_update` also requires the right to
/// change it (owner or platform) and, for `own`-scoped callers, that they created it.
async fn load(tx: &Transaction<'_>, p: &Principal, id: Uuid, for_update: bool) -> Result<Product, ApiError> {
    let sql = if for_update {
        format!("{PRODUCT} WHERE p.id = $1 AND ($2::uuid IS NULL OR p.created_by = $2) FOR UPDATE")
    } else {
        format!("{PRODUCT} WHERE p.id = $1 AND $2::uuid IS NULL")
    };
    let own = (for_update && p.scope == Scope::Own).then_some(p.user_id);
    tx.query_opt(&sql, &[&id, &own])
        .await?
        .map(|r| product(&r))
        .ok_or_else(|| ApiError::NotFound(format!("product {id}")))
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
    let found = load(&tx, &principal, id, false).await?;
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
    let name = text(&req.name, "name", 200, &mut errors);
    let description =
        long_text(req.description.as_deref(), "description", 5000, &mut errors).unwrap_or_default();
    check_physical(Some(req.weight_grams), Some(req.dimensions_mm), &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let kind = principal.tenant_kind(&tx).await?;
    if kind != "platform" && kind != "vendor" {
        return Err(ApiError::Forbidden(
            "only the platform and marketplace vendors own products; add platform products to your catalog instead"
                .into(),
        ));
    }
    check_category(&tx, req.category_id).await?;
    let id = Uuid::now_v7();
    let d = req.dimensions_mm;
    tx.execute(
        "INSERT INTO products (id, owner_tenant_id, created_by, sku, name, description, category_id, weight_grams,
                               length_mm, width_mm, height_mm, active, approval_gated, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
        &[
            &id,
            &principal.tenant.as_uuid(),
            &principal.user_id,
            &sku,
            &name,
            &description,
            &req.category_id,
            &req.weight_grams,
            &d.length,
            &d.width,
            &d.height,
            &req.active.unwrap_or(true),
            &req.approval_gated.unwrap_or(false),
            &principal.now,
        ],
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => ApiError::Conflict { code: "sku_taken", detail: format!("a product has the platform SKU {sku:?}") },
        None => e.into(),
    })?;
    let made = load(&tx, &principal, id, false).await?;
    audit::record(&tx, &principal, Entry::new("product.created", "product", id).after(&made)).await?;
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
    let name = req.name.as_deref().map(|n| text(n, "name", 200, &mut errors));
    let description = long_text(req.description.as_deref(), "description", 5000, &mut errors);
    check_physical(req.weight_grams, req.dimensions_mm, &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, &principal, id, true).await?;
    if let Some(c) = req.category_id {
        check_category(&tx, c).await?;
    }
    let d = req.dimensions_mm.unwrap_or(before.dimensions_mm);
    let platform = principal.tenant_kind(&tx).await? == "platform";
    if !platform && req.approval_gated.is_some_and(|g| g != before.approval_gated) {
        return Err(ApiError::Forbidden(
            "only the platform sets whether a product needs a customer approval".into(),
        ));
    }
    // A vendor's edit of a rejected product resubmits it; of an approved one, if it changes what the
    // review looked at (name, description, category), the database sends it back to review.
    let resubmit = before.review_status == "rejected" && !platform;
    tx.execute(
        "UPDATE products SET name = $2, description = $3, category_id = $4, weight_grams = $5, length_mm = $6,
                width_mm = $7, height_mm = $8, active = $9, approval_gated = $10, updated_at = $11,
                review_status = CASE WHEN $12 THEN 'pending' ELSE review_status END
          WHERE id = $1",
        &[
            &id,
            &name.unwrap_or_else(|| before.name.clone()),
            &description.unwrap_or_else(|| before.description.clone()),
            &req.category_id.unwrap_or(before.category_id),
            &req.weight_grams.unwrap_or(before.weight_grams),
            &d.length,
            &d.width,
            &d.height,
            &req.active.unwrap_or(before.active),
            &req.approval_gated.unwrap_or(before.approval_gated),
            &principal.now,
            &resubmit,
        ],
    )
    .await?;
    let after = load(&tx, &principal, id, false).await?;
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
    let reason = req.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    let (status, action) = match req.decision.as_str() {
        "approve" => ("approved", "product.approved"),
        "reject" if reason.is_some() => ("rejected", "product.rejected"),
        "reject" => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "reason",
                "required",
                "say why the product is rejected",
            )]));
        }
        _ => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "decision",
                "invalid",
                "approve or reject",
            )]));
        }
    };
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "reason",
            "too_long",
            "at most 1000 characters",
        )]));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    require_platform(&tx, &principal, "reviews").await?;
    let before = load(&tx, &principal, id, true).await?;
    tx.execute(
        "UPDATE products SET review_status = $2, review_reason = $3, reviewed_by = $4, reviewed_at = $5, updated_at = $5
          WHERE id = $1",
        &[&id, &status, &reason, &principal.user_id, &principal.now],
    )
    .await?;
    let after = load(&tx, &principal, id, false).await?;
    let entry = Entry::new(action, "product", id)
        .before(serde_json::json!({ "review_status": before.review_status, "review_reason": before.review_reason }))
        .after(serde_json::json!({ "review_status": after.review_status, "review_reason": after.review_reason,
                                   "owner_tenant_id": after.owner_tenant_id, "sku": after.sku }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
