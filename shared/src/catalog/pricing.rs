//! Price lists and the pricing function: what a tenant pays for N of a product at an instant.
//!
//! A price list belongs to a tenant, has one currency, an optional customer tier, a validity window
//! `[valid_from, valid_until)`, a priority and a mode. Each product on it has quantity breaks
//! (`min_quantity` → unit price, one of them at 1). `volume`: every unit costs the price of the
//! highest break reached. `graduated`: each band of units costs its own price (units 1-9 at one
//! price, 10-49 at the next...). The list used is, among the active lists valid at that instant
//! that price the product: the tier's own list before the general one, then the higher priority,
//! then the later start. Asking in a currency the product is not priced in is refused.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::{Row, Transaction};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::mappings::{Lookup, resolve};
use super::promotions::{self, Cart, CartLine, Outcome};
use super::require_sellable;
use crate::identity::principal::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError, nullable};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;
use crate::platform::validate::{check, currency, text};

pub const MODES: &[&str] = &["volume", "graduated"];
/// Largest quantity one line may ask for.
pub const MAX_QUANTITY: i64 = 1_000_000;
/// Lines in one quote.
pub const MAX_LINES: usize = 500;
const MAX_BREAKS: usize = 50;

// ---------------------------------------------------------------------------------------------
// The pricing function

/// One quantity break as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Break {
    pub min_quantity: i64,
    /// Minor units of the list's currency.
    pub unit_price: i64,
}

/// Units priced at one price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Band {
    /// The break that set the price.
    pub min_quantity: i64,
    /// Units priced at it.
    pub quantity: i64,
    pub unit_price: i64,
    pub amount: i64,
}

/// `quantity` units priced on `breaks` (sorted by `min_quantity`, the first at 1) in `mode`, as
/// bands and their total; `None` if the amount does not fit in 64 bits.
pub fn compute(mode: &str, breaks: &[Break], quantity: i64) -> Option<(Vec<Band>, i64)> {
    let band = |b: &Break, units: i64| {
        Some(Band {
            min_quantity: b.min_quantity,
            quantity: units,
            unit_price: b.unit_price,
            amount: units.checked_mul(b.unit_price)?,
        })
    };
    let bands = if mode == "graduated" {
        let mut out = Vec::new();
        for (i, b) in breaks.iter().enumerate() {
            if quantity < b.min_quantity {
                break;
            }
            let last = breaks.get(i + 1).map_or(quantity, |next| quantity.min(next.min_quantity - 1));
            out.push(band(b, last - b.min_quantity + 1)?);
        }
        out
    } else {
        let b = breaks.iter().rev().find(|b| b.min_quantity <= quantity)?;
        vec![band(b, quantity)?]
    };
    let total = bands.iter().try_fold(0i64, |acc, b| acc.checked_add(b.amount))?;
    Some((bands, total))
}

/// The price of one line and how it was reached.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinePrice {
    pub price_list_id: Uuid,
    pub price_list_name: String,
    pub currency: String,
    /// `volume` or `graduated`.
    pub mode: String,
    pub customer_tier: Option<String>,
    /// The subtotal divided by the quantity, rounded down (the bands are exact).
    pub unit_price: i64,
    pub subtotal: i64,
    pub bands: Vec<Band>,
}

/// Why a product has no price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPrice {
    /// No active list valid at that instant prices it.
    Unpriced,
    /// It is priced, but only in these other currencies.
    CurrencyMismatch { priced_in: Vec<String> },
    /// The amount does not fit in 64 bits.
    Overflow,
}

impl NoPrice {
    /// The field error for it, on `field`, for a product named `sku`.
    pub fn field_error(&self, field: &str, sku: &str, asked: Option<&str>) -> FieldError {
        match self {
            Self::Unpriced => FieldError::new(
                field,
                "no_price",
                format!("{sku} has no price valid at that time for this tenant"),
            ),
            Self::CurrencyMismatch { priced_in } => FieldError::new(
                field,
                "currency_mismatch",
                format!("{sku} is priced in {}, not {}", priced_in.join(", "), asked.unwrap_or("?")),
            ),
            Self::Overflow => FieldError::new(field, "too_large", "the amount is too large"),
        }
    }
}

/// What `tenant` pays for `quantity` of `product` at `at`, in `currency` if given, for a customer
/// of `tier` if given. The transaction must be scoped to the tenant.
pub async fn price(
    tx: &Transaction<'_>,
    tenant: TenantId,
    product: Uuid,
    quantity: i64,
    at: DateTime<Utc>,
    currency: Option<&str>,
    tier: Option<&str>,
) -> Result<Result<LinePrice, NoPrice>, ApiError> {
    let lists = tx
        .query(
            "SELECT l.id, l.name, l.currency, l.mode, l.customer_tier
               FROM price_lists l
              WHERE l.tenant_id = $1 AND l.active AND l.valid_from <= $3 AND (l.valid_until IS NULL OR l.valid_until > $3)
                AND (l.customer_tier IS NULL OR l.customer_tier = $4)
                AND EXISTS (SELECT 1 FROM price_list_prices x WHERE x.price_list_id = l.id AND x.product_id = $2)
              ORDER BY (l.customer_tier IS NOT NULL) DESC, l.priority DESC, l.valid_from DESC, l.id DESC",
            &[&tenant.as_uuid(), &product, &at, &tier],
        )
        .await?;
    let Some(list) = lists.iter().find(|l| currency.is_none_or(|c| l.get::<_, String>(2) == c)) else {
        if lists.is_empty() {
            return Ok(Err(NoPrice::Unpriced));
        }
        let mut priced_in: Vec<String> = lists.iter().map(|l| l.get(2)).collect();
        priced_in.sort();
        priced_in.dedup();
        return Ok(Err(NoPrice::CurrencyMismatch { priced_in }));
    };
    let id: Uuid = list.get(0);
    let mode: String = list.get(3);
    let breaks: Vec<Break> = tx
        .query(
            "SELECT min_quantity::bigint, unit_price_minor FROM price_list_prices
              WHERE price_list_id = $1 AND product_id = $2 ORDER BY min_quantity",
            &[&id, &product],
        )
        .await?
        .iter()
        .map(|r| Break { min_quantity: r.get(0), unit_price: r.get(1) })
        .collect();
    let Some((bands, subtotal)) = compute(&mode, &breaks, quantity) else {
        return Ok(Err(NoPrice::Overflow));
    };
    Ok(Ok(LinePrice {
        price_list_id: id,
        price_list_name: list.get(1),
        currency: list.get(2),
        mode,
        customer_tier: list.get(4),
        unit_price: subtotal / quantity.max(1),
        subtotal,
        bands,
    }))
}

// ---------------------------------------------------------------------------------------------
// Quotes

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteLine {
    /// A tenant SKU, alias or platform SKU (resolved like an order line).
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub lines: Vec<QuoteLine>,
    /// The currency to price in (default: that of the first line's price list).
    pub currency: Option<String>,
    /// The instant to price at (default: now).
    pub at: Option<DateTime<Utc>>,
    /// Use this customer tier's price lists where they exist.
    pub customer_tier: Option<String>,
    /// Resolve SKUs as this channel sends them.
    pub channel: Option<String>,
    /// For per-customer promotion limits.
    pub customer_email: Option<String>,
    /// Promotion codes to try, applied in this order.
    #[serde(default)]
    pub promotion_codes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotedLine {
    pub sku: String,
    pub platform_sku: String,
    pub product_id: Uuid,
    pub quantity: i64,
    pub price: LinePrice,
    /// Line-level promotion discounts on this line.
    pub discount: i64,
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Quote {
    pub currency: String,
    pub at: DateTime<Utc>,
    pub lines: Vec<QuotedLine>,
    pub subtotal: i64,
    /// Every promotion discount, line and order level.
    pub discount: i64,
    pub total: i64,
    /// Each code asked for: whether it applies, and why not.
    pub promotions: Vec<Outcome>,
}

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
    if req.lines.is_empty() || req.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", "invalid", format!("1 to {MAX_LINES} lines")));
    }
    for (i, l) in req.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&l.quantity) {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "out_of_range",
                format!("1 to {MAX_QUANTITY}"),
            ));
        }
        if l.sku.trim().is_empty() {
            errors.push(FieldError::new(format!("lines[{i}].sku"), "required", "a SKU"));
        }
    }
    if req.promotion_codes.len() > promotions::MAX_CODES {
        errors.push(FieldError::new(
            "promotion_codes",
            "invalid",
            format!("at most {} codes", promotions::MAX_CODES),
        ));
    }
    let asked = req.currency.as_deref().map(|c| currency(c, "currency", &mut errors));
    check(errors)?;
    let at = req.at.unwrap_or(principal.now);
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let lookups: Vec<Lookup> = req
        .lines
        .iter()
        .map(|l| Lookup { sku: Some(l.sku.clone()), channel: req.channel.clone(), ..Lookup::default() })
        .collect();
    let resolved = resolve(&tx, principal.tenant, &lookups).await?;
    let mut errors = Vec::new();
    let mut currency_in = asked.clone();
    let mut lines = Vec::new();
    for (i, (line, r)) in req.lines.iter().zip(&resolved).enumerate() {
        let (Some(product), Some(platform_sku), "resolved") =
            (r.product_id, r.platform_sku.clone(), r.status.as_str())
        else {
            errors.push(FieldError::new(
                format!("lines[{i}].sku"),
                "unknown_sku",
                format!("{:?} does not resolve to a product this tenant sells ({})", line.sku, r.status),
            ));
            continue;
        };
        let tier = req.customer_tier.as_deref();
        match price(&tx, principal.tenant, product, line.quantity, at, currency_in.as_deref(), tier).await? {
            Ok(p) => {
                currency_in.get_or_insert_with(|| p.currency.clone());
                let total = p.subtotal;
                lines.push(QuotedLine {
                    sku: line.sku.clone(),
                    platform_sku,
                    product_id: product,
                    quantity: line.quantity,
                    price: p,
                    discount: 0,
                    total,
                });
            }
            Err(no) => {
                errors.push(no.field_error(&format!("lines[{i}].sku"), &platform_sku, currency_in.as_deref()))
            }
        }
    }
    check(errors)?;
    let currency = currency_in.unwrap_or_default();
    let cart = Cart {
        currency: currency.clone(),
        at,
        customer: req.customer_email.as_deref().map(promotions::customer_key),
        lines: lines.iter().map(|l| CartLine { product_id: Some(l.product_id), amount: l.total }).collect(),
    };
    let outcomes = promotions::evaluate(&tx, principal.tenant, &cart, &req.promotion_codes).await?;
    tx.commit().await?;
    for o in outcomes.iter().filter(|o| o.applies) {
        for (line, d) in lines.iter_mut().zip(&o.line_discounts) {
            line.discount += d;
            line.total -= d;
        }
    }
    let subtotal: i64 = lines.iter().map(|l| l.price.subtotal).sum();
    let discount: i64 = outcomes.iter().filter(|o| o.applies).map(|o| o.discount).sum();
    Ok(Json(Quote {
        currency,
        at,
        lines,
        subtotal,
        discount,
        total: subtotal - discount,
        promotions: outcomes,
    }))
}

// ---------------------------------------------------------------------------------------------
// Price lists

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriceList {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    /// The customer tier it is for (`null`: every customer).
    pub customer_tier: Option<String>,
    /// `volume` or `graduated`.
    pub mode: String,
    pub priority: i32,
    pub valid_from: DateTime<Utc>,
    /// Exclusive; `null`: open-ended.
    pub valid_until: Option<DateTime<Utc>>,
    pub active: bool,
    /// Products priced on it.
    pub products: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str =
    "SELECT l.id, l.name, l.currency, l.customer_tier, l.mode, l.priority, l.valid_from, l.valid_until,
        l.active, (SELECT count(DISTINCT x.product_id) FROM price_list_prices x WHERE x.price_list_id = l.id),
        l.created_at, l.updated_at
   FROM price_lists l";

fn price_list(r: &Row) -> PriceList {
    PriceList {
        id: r.get(0),
        name: r.get(1),
        currency: r.get(2),
        customer_tier: r.get(3),
        mode: r.get(4),
        priority: r.get(5),
        valid_from: r.get(6),
        valid_until: r.get(7),
        active: r.get(8),
        products: r.get(9),
        created_at: r.get(10),
        updated_at: r.get(11),
    }
}

async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<PriceList, ApiError> {
    crate::platform::db::by_id(tx, SELECT, "l", id, lock, "price list", price_list).await
}

fn check_list_fields(
    tier: Option<&str>,
    mode: Option<&str>,
    window: (DateTime<Utc>, Option<DateTime<Utc>>),
    errors: &mut Vec<FieldError>,
) {
    if tier.is_some_and(|t| !crate::platform::validate::code_name(t)) {
        errors.push(FieldError::new("customer_tier", "invalid", "1-63 of a-z, 0-9, '_' and '-'"));
    }
    if mode.is_some_and(|m| !MODES.contains(&m)) {
        errors.push(FieldError::new("mode", "invalid", "volume or graduated"));
    }
    if window.1.is_some_and(|until| until <= window.0) {
        errors.push(FieldError::new("valid_until", "invalid", "after valid_from"));
    }
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
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE l.tenant_id = $1 AND ($2::text IS NULL OR l.currency = upper($2))
                   AND ($3::text IS NULL OR l.customer_tier = $3) AND ($4::bool IS NULL OR l.active = $4)
                   AND ($5::timestamptz IS NULL OR (l.valid_from <= $5 AND (l.valid_until IS NULL OR l.valid_until > $5)))
                   AND ($6::uuid IS NULL OR l.id < $6)
                 ORDER BY l.id DESC LIMIT $7"
            ),
            &[&principal.tenant.as_uuid(), &f.currency, &f.customer_tier, &f.active, &f.valid_at, &cursor, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(price_list).collect(), limit, |l: &PriceList| l.id)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPrices {
    pub product_id: Uuid,
    pub platform_sku: String,
    pub breaks: Vec<Break>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceListDetail {
    #[serde(flatten)]
    pub list: PriceList,
    pub prices: Vec<ProductPrices>,
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
    let list = load(&tx, id, false).await?;
    let rows = tx
        .query(
            "SELECT x.product_id, p.sku, x.min_quantity::bigint, x.unit_price_minor
               FROM price_list_prices x JOIN products p ON p.id = x.product_id
              WHERE x.price_list_id = $1 ORDER BY p.sku, x.min_quantity",
            &[&id],
        )
        .await?;
    tx.commit().await?;
    let mut prices: Vec<ProductPrices> = Vec::new();
    for r in &rows {
        let product: Uuid = r.get(0);
        let b = Break { min_quantity: r.get(2), unit_price: r.get(3) };
        match prices.last_mut() {
            Some(last) if last.product_id == product => last.breaks.push(b),
            _ => prices.push(ProductPrices { product_id: product, platform_sku: r.get(1), breaks: vec![b] }),
        }
    }
    Ok(Json(PriceListDetail { list, prices }))
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
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO price_lists (id, tenant_id, name, currency, customer_tier, mode, priority, valid_from, valid_until,
                                  active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        &[
            &id,
            &principal.tenant.as_uuid(),
            &name,
            &cur,
            &req.customer_tier,
            &req.mode.as_deref().unwrap_or("volume"),
            &req.priority.unwrap_or(0),
            &from,
            &req.valid_until,
            &req.active.unwrap_or(true),
            &principal.now,
        ],
    )
    .await?;
    let made = load(&tx, id, false).await?;
    audit::record(&tx, &principal, Entry::new("price_list.created", "price_list", id).after(&made)).await?;
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
    let before = load(&tx, id, true).await?;
    let mut errors = Vec::new();
    let name =
        req.name.as_deref().map(|n| text(n, "name", 200, &mut errors)).unwrap_or_else(|| before.name.clone());
    let tier = req.customer_tier.unwrap_or_else(|| before.customer_tier.clone());
    let mode = req.mode.unwrap_or_else(|| before.mode.clone());
    let from = req.valid_from.unwrap_or(before.valid_from);
    let until = req.valid_until.unwrap_or(before.valid_until);
    check_list_fields(tier.as_deref(), Some(&mode), (from, until), &mut errors);
    check(errors)?;
    tx.execute(
        "UPDATE price_lists SET name = $2, customer_tier = $3, mode = $4, priority = $5, valid_from = $6,
                valid_until = $7, active = $8, updated_at = $9 WHERE id = $1",
        &[
            &id,
            &name,
            &tier,
            &mode,
            &req.priority.unwrap_or(before.priority),
            &from,
            &until,
            &req.active.unwrap_or(before.active),
            &principal.now,
        ],
    )
    .await?;
    let after = load(&tx, id, false).await?;
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
    let mut breaks = req.breaks.clone();
    breaks.sort_by_key(|b| b.min_quantity);
    if breaks.is_empty() || breaks.len() > MAX_BREAKS {
        errors.push(FieldError::new("breaks", "invalid", format!("1 to {MAX_BREAKS} breaks")));
    }
    for (i, b) in req.breaks.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&b.min_quantity) {
            errors.push(FieldError::new(
                format!("breaks[{i}].min_quantity"),
                "out_of_range",
                format!("1 to {MAX_QUANTITY}"),
            ));
        }
        if !(0..=super::MAX_UNIT_PRICE).contains(&b.unit_price) {
            errors.push(FieldError::new(
                format!("breaks[{i}].unit_price"),
                "out_of_range",
                "0 to 10^10 minor units",
            ));
        }
    }
    if breaks.windows(2).any(|w| w[0].min_quantity == w[1].min_quantity) {
        errors.push(FieldError::new("breaks", "duplicate", "each min_quantity once"));
    }
    if breaks.first().is_some_and(|b| b.min_quantity != 1) {
        errors.push(FieldError::new("breaks", "no_base_price", "one break must start at quantity 1"));
    }
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    load(&tx, id, true).await?;
    let (product, platform_sku) = require_sellable(&tx, &sku, "path:sku").await?;
    let before: Vec<(i64, i64)> = tx
        .query(
            "DELETE FROM price_list_prices WHERE price_list_id = $1 AND product_id = $2
             RETURNING min_quantity::bigint, unit_price_minor",
            &[&id, &product],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mins: Vec<i32> = breaks.iter().map(|b| b.min_quantity as i32).collect();
    let prices: Vec<i64> = breaks.iter().map(|b| b.unit_price).collect();
    tx.execute(
        "INSERT INTO price_list_prices (tenant_id, price_list_id, product_id, min_quantity, unit_price_minor)
         SELECT $1, $2, $3, m, p FROM unnest($4::int[], $5::bigint[]) AS t(m, p)",
        &[&principal.tenant.as_uuid(), &id, &product, &mins, &prices],
    )
    .await?;
    tx.execute("UPDATE price_lists SET updated_at = $2 WHERE id = $1", &[&id, &principal.now]).await?;
    let after = ProductPrices { product_id: product, platform_sku, breaks };
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
    load(&tx, id, true).await?;
    let removed = tx
        .execute(
            "DELETE FROM price_list_prices x USING products p
              WHERE x.price_list_id = $1 AND p.id = x.product_id AND lower(p.sku) = lower($2)",
            &[&id, &sku],
        )
        .await?;
    if removed == 0 {
        return Err(ApiError::NotFound(format!("{sku} on price list {id}")));
    }
    tx.execute("UPDATE price_lists SET updated_at = $2 WHERE id = $1", &[&id, &principal.now]).await?;
    let entry = Entry::new("price_list.prices_removed", "price_list", id)
        .before(serde_json::json!({ "platform_sku": sku }));
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaks() -> Vec<Break> {
        vec![
            Break { min_quantity: 1, unit_price: 1000 },
            Break { min_quantity: 10, unit_price: 900 },
            Break { min_quantity: 50, unit_price: 800 },
        ]
    }

    #[test]
    fn volume_prices_every_unit_at_the_highest_break_reached() {
        assert_eq!(compute("volume", &breaks(), 9).map(|r| r.1), Some(9_000));
        assert_eq!(compute("volume", &breaks(), 10).map(|r| r.1), Some(9_000));
        assert_eq!(compute("volume", &breaks(), 49).map(|r| r.1), Some(44_100));
        assert_eq!(compute("volume", &breaks(), 50).map(|r| r.1), Some(40_000));
    }

    #[test]
    fn graduated_prices_each_band_at_its_own_price() {
        // 9 at 10.00
        assert_eq!(compute("graduated", &breaks(), 9).map(|r| r.1), Some(9_000));
        // 9 at 10.00 + 1 at 9.00
        let (bands, total) = compute("graduated", &breaks(), 10).unwrap();
        assert_eq!(total, 9_900);
        assert_eq!(bands.iter().map(|b| b.quantity).collect::<Vec<_>>(), vec![9, 1]);
        // 9 at 10.00 + 40 at 9.00 + 1 at 8.00
        let (bands, total) = compute("graduated", &breaks(), 50).unwrap();
        assert_eq!(total, 9_000 + 36_000 + 800);
        assert_eq!(
            bands.iter().map(|b| (b.min_quantity, b.quantity)).collect::<Vec<_>>(),
            vec![(1, 9), (10, 40), (50, 1)]
        );
    }

    #[test]
    fn an_amount_past_64_bits_is_refused_not_wrapped() {
        let huge = [Break { min_quantity: 1, unit_price: i64::MAX / 2 }];
        assert_eq!(compute("volume", &huge, 3), None);
        assert_eq!(compute("graduated", &huge, 3), None);
    }
}
