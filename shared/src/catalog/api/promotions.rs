//! Promotion routes: list, get, create, update, validate a cart, redeem, list redemptions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::writer;
use crate::catalog::model::{
    CartInput, Evaluation, Promotion, Redeemed, Redemption, Terms, check, check_cart, check_order_ref,
    customer_key, valid_code,
};
use crate::catalog::service::promotions as service;
use crate::catalog::store::promotions::{self as store, Filter};
use crate::identity::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError, nullable};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery, contains_pattern};
use crate::platform::state::AppState;

/// Checks promotion codes against a cart without using them: each says whether it applies, its
/// discount, or exactly why not.
#[utoipa::path(post, path = "/api/v1/promotions/validate", operation_id = "promotions_validate", tag = "promotions",
    request_body = CartInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "A verdict per code", body = Evaluation),
        (status = 422, description = "Malformed cart", body = crate::Problem),
    ))]
pub async fn validate(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<CartInput>,
) -> Result<Json<Evaluation>, ApiError> {
    let mut errors = Vec::new();
    let cur = check_cart(&req, "", &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let cart = service::cart_of(&tx, principal.tenant, principal.now, &req, cur).await?;
    let outcomes = service::evaluate(&tx, principal.tenant, &cart, &req.codes).await?;
    tx.commit().await?;
    Ok(Json(Evaluation::of(&cart, outcomes)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The order the codes are used on (the gateway's order id, or the channel's order number).
    pub order_ref: String,
    pub cart: CartInput,
}

/// Uses promotion codes on an order: all of them apply, or none is used (422 with each code's
/// reason). Once per order: the same order again replays the first answer, counting nothing.
#[utoipa::path(post, path = "/api/v1/promotions/redemptions", operation_id = "promotions_redeem", tag = "promotions",
    request_body = RedeemRequest, security(("bearer" = [])),
    responses(
        (status = 201, description = "Redeemed", body = Redeemed),
        (status = 200, description = "Already redeemed by this order: the same redemptions", body = Redeemed),
        (status = 409, description = "The order already redeemed other codes", body = crate::Problem),
        (status = 422, description = "A code does not apply (each says why), or a malformed cart", body = crate::Problem),
    ))]
pub async fn redeem(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<RedeemRequest>,
) -> Result<(StatusCode, Json<Redeemed>), ApiError> {
    let mut errors = Vec::new();
    let order_ref = check_order_ref(&req.order_ref, &mut errors);
    let cur = check_cart(&req.cart, "cart.", &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let redeemed = service::redeem(&tx, writer(&principal), order_ref, &req.cart, cur).await?;
    if !redeemed.replayed {
        for made in &redeemed.redemptions {
            let entry = Entry::new("promotion.redeemed", "promotion", made.promotion_id).after(made);
            audit::record(&tx, &principal, entry).await?;
        }
    }
    tx.commit().await?;
    let status = if redeemed.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(redeemed)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RedemptionFilter {
    pub order_ref: Option<String>,
    pub customer_email: Option<String>,
}

/// A promotion's redemptions, newest first.
#[utoipa::path(get, path = "/api/v1/promotions/{id}/redemptions", operation_id = "promotions_redemptions_list", tag = "promotions",
    params(("id" = Uuid, Path, description = "Promotion id"), RedemptionFilter, PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = inline(Page<Redemption>)),
        (status = 404, description = "No such promotion", body = crate::Problem),
    ))]
pub async fn redemptions(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(f): ApiQuery<RedemptionFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Redemption>>, ApiError> {
    let id = path_id(&id, "a promotion")?;
    let (limit, cursor) = page.parse()?;
    let customer = f.customer_email.as_deref().map(customer_key);
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    store::load(&tx, id, false).await?;
    let rows =
        store::redemptions(&tx, id, f.order_ref.as_deref(), customer.as_deref(), cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |r: &Redemption| r.id)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PromotionFilter {
    /// Part of the code, any case.
    pub q: Option<String>,
    pub active: Option<bool>,
    /// Promotions whose window contains this instant (RFC 3339).
    pub valid_at: Option<DateTime<Utc>>,
}

/// The acting tenant's promotions, newest first.
#[utoipa::path(get, path = "/api/v1/promotions", operation_id = "promotions_list", tag = "promotions",
    params(PromotionFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = inline(Page<Promotion>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<PromotionFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Promotion>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let filter =
        Filter { like: f.q.as_deref().map(contains_pattern), active: f.active, valid_at: f.valid_at };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = store::list(&tx, principal.tenant, &filter, cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |p: &Promotion| p.id)))
}

/// One promotion of the acting tenant.
#[utoipa::path(get, path = "/api/v1/promotions/{id}", operation_id = "promotions_get", tag = "promotions",
    params(("id" = Uuid, Path, description = "Promotion id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The promotion", body = Promotion),
        (status = 404, description = "No such promotion", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Promotion>, ApiError> {
    let id = path_id(&id, "a promotion")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let found = store::load(&tx, id, false).await?;
    tx.commit().await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPromotion {
    /// Letters, digits, `_`, `-`; unique in the tenant, any case.
    pub code: String,
    pub description: Option<String>,
    /// `percentage` or `fixed`.
    pub discount_type: String,
    /// Percentage in basis points (1 to 10000).
    pub percent_bp: Option<i32>,
    /// Fixed amount in minor units.
    pub amount: Option<i64>,
    /// Required for a fixed amount or a minimum order.
    pub currency: Option<String>,
    /// `order` (default) or `line`.
    pub applies_to: Option<String>,
    /// Line-level only: platform SKUs it covers (default: every line).
    #[serde(default)]
    pub platform_skus: Vec<String>,
    /// Minimum order subtotal, minor units.
    pub min_order: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Redemptions in total.
    pub usage_limit: Option<i32>,
    /// Redemptions per customer (email).
    pub per_customer_limit: Option<i32>,
    /// May be combined with other stackable codes (default false).
    pub stackable: Option<bool>,
    pub active: Option<bool>,
}

impl NewPromotion {
    fn terms(self) -> Terms {
        Terms {
            description: self.description.unwrap_or_default().trim().to_owned(),
            discount_type: self.discount_type,
            percent_bp: self.percent_bp,
            amount: self.amount,
            currency: self.currency,
            applies_to: self.applies_to.unwrap_or_else(|| "order".into()),
            platform_skus: self.platform_skus,
            min_order: self.min_order,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            usage_limit: self.usage_limit,
            per_customer_limit: self.per_customer_limit,
            stackable: self.stackable.unwrap_or(false),
            active: self.active.unwrap_or(true),
        }
    }
}

/// Creates a promotion for the acting tenant.
#[utoipa::path(post, path = "/api/v1/promotions", operation_id = "promotions_create", tag = "promotions",
    request_body = NewPromotion, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Promotion),
        (status = 409, description = "The code is taken", body = crate::Problem),
        (status = 422, description = "Invalid terms", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewPromotion>,
) -> Result<(StatusCode, Json<Promotion>), ApiError> {
    let mut errors = Vec::new();
    let code = req.code.trim().to_owned();
    if !valid_code(&code) {
        errors.push(FieldError::new("code", "invalid", "1-64 of letters, digits, '_' and '-'"));
    }
    let mut t = req.terms();
    t.check(&mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let made = service::create(&tx, writer(&principal), &code, &t).await?;
    audit::record(&tx, &principal, Entry::new("promotion.created", "promotion", made.id).after(&made))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionPatch {
    pub description: Option<String>,
    pub percent_bp: Option<i32>,
    pub amount: Option<i64>,
    pub platform_skus: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub min_order: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub usage_limit: Option<Option<i32>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub per_customer_limit: Option<Option<i32>>,
    pub stackable: Option<bool>,
    pub active: Option<bool>,
}

impl PromotionPatch {
    /// The promotion's terms with this patch applied (code, type and currency stay).
    fn applied_to(&self, before: &Promotion) -> Terms {
        Terms {
            description: self
                .description
                .as_ref()
                .map(|d| d.trim().to_owned())
                .unwrap_or_else(|| before.description.clone()),
            discount_type: before.discount_type.clone(),
            percent_bp: self.percent_bp.or(before.percent_bp),
            amount: self.amount.or(before.amount),
            currency: before.currency.clone(),
            applies_to: before.applies_to.clone(),
            platform_skus: self.platform_skus.clone().unwrap_or_else(|| before.platform_skus.clone()),
            min_order: self.min_order.unwrap_or(before.min_order),
            starts_at: self.starts_at.unwrap_or(before.starts_at),
            ends_at: self.ends_at.unwrap_or(before.ends_at),
            usage_limit: self.usage_limit.unwrap_or(before.usage_limit),
            per_customer_limit: self.per_customer_limit.unwrap_or(before.per_customer_limit),
            stackable: self.stackable.unwrap_or(before.stackable),
            active: self.active.unwrap_or(before.active),
        }
    }
}

/// Changes a promotion's terms (not its code, type or currency). A usage limit cannot go below
/// the redemptions already made.
#[utoipa::path(patch, path = "/api/v1/promotions/{id}", operation_id = "promotions_update", tag = "promotions",
    params(("id" = Uuid, Path, description = "Promotion id")), request_body = PromotionPatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Promotion),
        (status = 404, description = "No such promotion", body = crate::Problem),
        (status = 422, description = "Invalid terms", body = crate::Problem),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PromotionPatch>,
) -> Result<Json<Promotion>, ApiError> {
    let id = path_id(&id, "a promotion")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let skus = req.platform_skus.as_deref();
    let (before, after) = service::update(&tx, writer(&principal), id, skus, |b| req.applied_to(b)).await?;
    let entry = Entry::new("promotion.updated", "promotion", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
