//! Pricing routes: price lists (list, get, create, update), their prices (set, remove), quotes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::writer;
use crate::catalog::model::{
    Break, ListFields, PriceList, PriceListDetail, ProductPrices, Quote, QuoteRequest, check, check_breaks,
    check_list_fields, group_prices,
};
use crate::catalog::service::pricing as service;
use crate::catalog::store::pricing::{self as store, Filter};
use crate::identity::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, nullable};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;
use crate::platform::validate::{currency, text};

/// Prices lines for the acting tenant: each line's price list, mode and bands, then the promotion
/// codes (each one that does not apply says why). Amounts in minor units.
#[utoipa::path(post, path = "/api/v1/pricing/quote", operation_id = "pricing_quote", tag = "pricing",
    request_body = QuoteRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The quote", body = Quote),
        (status = 422, description = "Unknown SKU, no price, currency mismatch, bad quantity", body = crate::Problem),
    ))]
pub async fn quote(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<QuoteRequest>,
) -> Result<Json<Quote>, ApiError> {
    let mut errors = Vec::new();
    let asked = req.check(&mut errors);
    check(errors)?;
    let at = req.at.unwrap_or(principal.now);
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let quote = service::quote(&tx, principal.tenant, &req, asked, at).await?;
    tx.commit().await?;
    Ok(Json(quote))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PriceListFilter {
    pub currency: Option<String>,
    pub customer_tier: Option<String>,
    pub active: Option<bool>,
    /// Lists valid at this instant (RFC 3339).
    pub valid_at: Option<DateTime<Utc>>,
}

/// The acting tenant's price lists, newest first.
#[utoipa::path(get, path = "/api/v1/pricing/price-lists", operation_id = "price_lists_list", tag = "pricing",
    params(PriceListFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = inline(Page<PriceList>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<PriceListFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<PriceList>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let filter = Filter {
        currency: f.currency.as_deref(),
        customer_tier: f.customer_tier.as_deref(),
        active: f.active,
        valid_at: f.valid_at,
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = store::list(&tx, principal.tenant, &filter, cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |l: &PriceList| l.id)))
}

/// One price list with every product's quantity breaks.
#[utoipa::path(get, path = "/api/v1/pricing/price-lists/{id}", operation_id = "price_lists_get", tag = "pricing",
    params(("id" = Uuid, Path, description = "Price list id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The list and its prices", body = PriceListDetail),
        (status = 404, description = "No such price list", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PriceListDetail>, ApiError> {
    let id = path_id(&id, "a price list")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let list = store::load(&tx, id, false).await?;
    let rows = store::prices(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(PriceListDetail { list, prices: group_prices(rows) }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPriceList {
    pub name: String,
    /// ISO 4217; fixed for the list's life.
    pub currency: String,
    pub customer_tier: Option<String>,
    /// `volume` (default) or `graduated`.
    pub mode: Option<String>,
    /// Higher wins among lists of the same tier (default 0).
    pub priority: Option<i32>,
    /// Default: now.
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Default true.
    pub active: Option<bool>,
}

/// Creates a price list for the acting tenant (prices are added per product).
#[utoipa::path(post, path = "/api/v1/pricing/price-lists", operation_id = "price_lists_create", tag = "pricing",
    request_body = NewPriceList, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = PriceList),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewPriceList>,
) -> Result<(StatusCode, Json<PriceList>), ApiError> {
    let mut errors = Vec::new();
    let name = text(&req.name, "name", 200, &mut errors);
    let cur = currency(&req.currency, "currency", &mut errors);
    let from = req.valid_from.unwrap_or(principal.now);
    check_list_fields(
        req.customer_tier.as_deref(),
        req.mode.as_deref(),
        (from, req.valid_until),
        &mut errors,
    );
    check(errors)?;
    let fields = ListFields {
        name,
        customer_tier: req.customer_tier,
        mode: req.mode.unwrap_or_else(|| "volume".into()),
        priority: req.priority.unwrap_or(0),
        valid_from: from,
        valid_until: req.valid_until,
        active: req.active.unwrap_or(true),
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let made = service::create(&tx, writer(&principal), &cur, &fields).await?;
    audit::record(&tx, &principal, Entry::new("price_list.created", "price_list", made.id).after(&made))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceListPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub customer_tier: Option<Option<String>>,
    pub mode: Option<String>,
    pub priority: Option<i32>,
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub valid_until: Option<Option<DateTime<Utc>>>,
    pub active: Option<bool>,
}

impl PriceListPatch {
    /// The list's fields with this patch applied, checked.
    fn applied_to(self, before: &PriceList) -> Result<ListFields, crate::catalog::model::Error> {
        let mut errors = Vec::new();
        let name = self
            .name
            .as_deref()
            .map(|n| text(n, "name", 200, &mut errors))
            .unwrap_or_else(|| before.name.clone());
        let fields = ListFields {
            name,
            customer_tier: self.customer_tier.unwrap_or_else(|| before.customer_tier.clone()),
            mode: self.mode.unwrap_or_else(|| before.mode.clone()),
            priority: self.priority.unwrap_or(before.priority),
            valid_from: self.valid_from.unwrap_or(before.valid_from),
            valid_until: self.valid_until.unwrap_or(before.valid_until),
            active: self.active.unwrap_or(before.active),
        };
        let window = (fields.valid_from, fields.valid_until);
        check_list_fields(fields.customer_tier.as_deref(), Some(&fields.mode), window, &mut errors);
        check(errors)?;
        Ok(fields)
    }
}

/// Changes a price list (not its currency).
#[utoipa::path(patch, path = "/api/v1/pricing/price-lists/{id}", operation_id = "price_lists_update", tag = "pricing",
    params(("id" = Uuid, Path, description = "Price list id")), request_body = PriceListPatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = PriceList),
        (status = 404, description = "No such price list", body = crate::Problem),
        (status = 422, description = "Invalid fields", body = crate::Problem),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PriceListPatch>,
) -> Result<Json<PriceList>, ApiError> {
    let id = path_id(&id, "a price list")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (before, after) = service::update(&tx, writer(&principal), id, |b| req.applied_to(b)).await?;
    let entry = Entry::new("price_list.updated", "price_list", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPrices {
    /// The quantity breaks: distinct `min_quantity`, one of them 1; prices in minor units.
    pub breaks: Vec<Break>,
}

/// Sets (replaces) one product's quantity breaks on a price list.
#[utoipa::path(put, path = "/api/v1/pricing/price-lists/{id}/prices/{sku}", operation_id = "price_lists_prices_put", tag = "pricing",
    params(("id" = Uuid, Path, description = "Price list id"), ("sku" = String, Path, description = "Platform SKU")),
    request_body = SetPrices, security(("bearer" = [])),
    responses(
        (status = 200, description = "The product's breaks now", body = ProductPrices),
        (status = 404, description = "No such price list", body = crate::Problem),
        (status = 422, description = "Invalid breaks, or no such product", body = crate::Problem),
    ))]
pub async fn put_prices(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, sku)): Path<(String, String)>,
    ApiJson(req): ApiJson<SetPrices>,
) -> Result<Json<ProductPrices>, ApiError> {
    let id = path_id(&id, "a price list")?;
    let mut errors = Vec::new();
    let breaks = check_breaks(&req.breaks, &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (before, after) = service::set_prices(&tx, writer(&principal), id, &sku, breaks).await?;
    let entry = Entry::new("price_list.prices_set", "price_list", id)
        .before(serde_json::json!({ "platform_sku": after.platform_sku, "breaks": before }))
        .after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Takes a product off a price list.
#[utoipa::path(delete, path = "/api/v1/pricing/price-lists/{id}/prices/{sku}", operation_id = "price_lists_prices_delete", tag = "pricing",
    params(("id" = Uuid, Path, description = "Price list id"), ("sku" = String, Path, description = "Platform SKU")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such price list, or the product is not on it", body = crate::Problem),
    ))]
pub async fn delete_prices(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, sku)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, "a price list")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    service::remove_prices(&tx, writer(&principal), id, &sku).await?;
    let entry = Entry::new("price_list.prices_removed", "price_list", id)
        .before(serde_json::json!({ "platform_sku": sku }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
