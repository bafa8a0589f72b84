//! Promotions: codes with a percentage (basis points) or fixed discount, on the order or on lines
//! (optionally only some products), within a window, with usage limits in total and per
//! customer, a minimum order and a stacking rule.
//!
//! [`evaluate`] says for each code whether it applies to a cart and, if not, exactly why (one
//! reason code per rule). Codes apply in the order given, each on what the earlier ones left:
//! percentages round down; a fixed line discount comes off each eligible line; no discount takes a
//! line or the order below zero. A code that is not `stackable` is used alone: the first code that
//! applies wins and a later one is refused `not_combinable`. Redemptions are recorded once per
//! order: the promotions are locked, the order's earlier redemption is found and replayed, so a
//! retried request never counts twice and concurrent orders never pass a usage limit.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::{Row, Transaction};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::mappings::{Lookup, resolve};
use super::pricing::{MAX_LINES, MAX_QUANTITY};
use crate::identity::principal::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError, nullable, unique_violation};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery, contains_pattern};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;
use crate::platform::validate::{check, currency};

/// Codes one cart may carry.
pub const MAX_CODES: usize = 10;

/// The identity per-customer limits count by: the email, trimmed and lowercased.
pub fn customer_key(email: &str) -> String {
    email.trim().to_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// What a promotion is checked against.
#[derive(Debug, Clone)]
pub struct Cart {
    pub currency: String,
    pub at: DateTime<Utc>,
    pub customer: Option<String>,
    pub lines: Vec<CartLine>,
}

#[derive(Debug, Clone)]
pub struct CartLine {
    /// `None` when the line's SKU is not mapped (it is then eligible only for promotions on every
    /// product).
    pub product_id: Option<Uuid>,
    /// The line's amount before discounts, in minor units.
    pub amount: i64,
}

/// The verdict on one code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outcome {
    pub code: String,
    pub promotion_id: Option<Uuid>,
    pub applies: bool,
    /// Why not: `unknown_code`, `duplicate_code`, `inactive`, `not_started`, `expired`,
    /// `currency_mismatch`, `usage_limit_reached`, `customer_required`, `customer_limit_reached`,
    /// `minimum_not_met`, `no_eligible_lines` or `not_combinable`.
    pub reason: Option<String>,
    pub message: Option<String>,
    /// Minor units off (0 when it does not apply).
    pub discount: i64,
    /// The part of `discount` on each cart line (line-level promotions; zeros otherwise).
    pub line_discounts: Vec<i64>,
}

struct Promo {
    id: Uuid,
    code: String,
    discount_type: String,
    percent_bp: Option<i32>,
    amount: Option<i64>,
    currency: Option<String>,
    applies_to: String,
    product_ids: Vec<Uuid>,
    min_order: Option<i64>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    usage_limit: Option<i32>,
    per_customer_limit: Option<i32>,
    stackable: bool,
    active: bool,
    redemptions: i32,
}

fn money(amount: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", amount / 100, (amount % 100).abs())
}

/// Checks each code against the cart, in order (see the module doc). The transaction must be
/// scoped to `tenant`; to redeem, lock the promotions first.
pub async fn evaluate(
    tx: &Transaction<'_>,
    tenant: TenantId,
    cart: &Cart,
    codes: &[String],
) -> Result<Vec<Outcome>, ApiError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let lowered: Vec<String> = codes.iter().map(|c| c.trim().to_lowercase()).collect();
    let promos: HashMap<String, Promo> = tx
        .query(
            "SELECT id, code, discount_type, percent_bp, amount_minor, currency, applies_to, product_ids,
                    min_order_minor, starts_at, ends_at, usage_limit, per_customer_limit, stackable, active,
                    redemption_count
               FROM promotions WHERE tenant_id = $1 AND lower(code) = ANY($2)",
            &[&tenant.as_uuid(), &lowered],
        )
        .await?
        .iter()
        .map(|r| {
            let p = Promo {
                id: r.get(0),
                code: r.get(1),
                discount_type: r.get(2),
                percent_bp: r.get(3),
                amount: r.get(4),
                currency: r.get(5),
                applies_to: r.get(6),
                product_ids: r.get(7),
                min_order: r.get(8),
                starts_at: r.get(9),
                ends_at: r.get(10),
                usage_limit: r.get(11),
                per_customer_limit: r.get(12),
                stackable: r.get(13),
                active: r.get(14),
                redemptions: r.get(15),
            };
            (p.code.to_lowercase(), p)
        })
        .collect();
    let by_customer: HashMap<Uuid, i64> = match &cart.customer {
        Some(customer) => {
            let ids: Vec<Uuid> = promos.values().map(|p| p.id).collect();
            tx.query(
                "SELECT promotion_id, count(*) FROM promotion_redemptions
                  WHERE tenant_id = $1 AND promotion_id = ANY($2) AND customer_key = $3 GROUP BY promotion_id",
                &[&tenant.as_uuid(), &ids, customer],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
        }
        None => HashMap::new(),
    };

    let subtotal: i64 = cart.lines.iter().map(|l| l.amount).sum();
    let mut line_left: Vec<i64> = cart.lines.iter().map(|l| l.amount).collect();
    let mut order_left = subtotal;
    let mut accepted: Vec<(String, bool)> = Vec::new();
    let mut out = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let refuse = |promotion: Option<Uuid>, reason: &str, message: String| Outcome {
            code: code.trim().to_owned(),
            promotion_id: promotion,
            applies: false,
            reason: Some(reason.to_owned()),
            message: Some(message),
            discount: 0,
            line_discounts: vec![0; cart.lines.len()],
        };
        if lowered[..i].contains(&lowered[i]) {
            out.push(refuse(None, "duplicate_code", "the code is given twice".into()));
            continue;
        }
        let Some(p) = promos.get(&lowered[i]) else {
            out.push(refuse(None, "unknown_code", format!("there is no promotion {:?}", code.trim())));
            continue;
        };
        let refusal = if !p.active {
            Some(("inactive", "the promotion is switched off".to_owned()))
        } else if p.starts_at.is_some_and(|s| cart.at < s) {
            Some((
                "not_started",
                format!("valid from {}", p.starts_at.map(|s| s.to_rfc3339()).unwrap_or_default()),
            ))
        } else if p.ends_at.is_some_and(|e| cart.at >= e) {
            Some(("expired", format!("ended at {}", p.ends_at.map(|e| e.to_rfc3339()).unwrap_or_default())))
        } else if p.currency.as_ref().is_some_and(|c| *c != cart.currency) {
            Some((
                "currency_mismatch",
                format!(
                    "the promotion is in {}, the order in {}",
                    p.currency.clone().unwrap_or_default(),
                    cart.currency
                ),
            ))
        } else if p.usage_limit.is_some_and(|l| p.redemptions >= l) {
            Some(("usage_limit_reached", format!("all {} uses are taken", p.usage_limit.unwrap_or(0))))
        } else if p.per_customer_limit.is_some() && cart.customer.is_none() {
            Some((
                "customer_required",
                "limited per customer: say who the customer is (customer_email)".to_owned(),
            ))
        } else if p
            .per_customer_limit
            .is_some_and(|l| by_customer.get(&p.id).copied().unwrap_or(0) >= i64::from(l))
        {
            Some((
                "customer_limit_reached",
                format!(
                    "this customer used it {} times already",
                    by_customer.get(&p.id).copied().unwrap_or(0)
                ),
            ))
        } else if p.min_order.is_some_and(|m| subtotal < m) {
            let cur = p.currency.as_deref().unwrap_or(&cart.currency);
            Some((
                "minimum_not_met",
                format!(
                    "needs an order of at least {}, this one is {}",
                    money(p.min_order.unwrap_or(0), cur),
                    money(subtotal, cur)
                ),
            ))
        } else {
            None
        };
        if let Some((reason, message)) = refusal {
            out.push(refuse(Some(p.id), reason, message));
            continue;
        }
        let eligible: Vec<bool> = cart
            .lines
            .iter()
            .map(|l| p.product_ids.is_empty() || l.product_id.is_some_and(|id| p.product_ids.contains(&id)))
            .collect();
        if p.applies_to == "line" && !eligible.iter().any(|e| *e) {
            out.push(refuse(
                Some(p.id),
                "no_eligible_lines",
                "no line is for a product the promotion covers".into(),
            ));
            continue;
        }
        if let Some((other, _)) = accepted.iter().find(|(_, stackable)| !stackable || !p.stackable) {
            out.push(refuse(Some(p.id), "not_combinable", format!("cannot be combined with {other}")));
            continue;
        }
        let pct = |amount: i64| (i128::from(amount) * i128::from(p.percent_bp.unwrap_or(0)) / 10_000) as i64;
        let mut line_discounts = vec![0i64; cart.lines.len()];
        let discount = if p.applies_to == "line" {
            for (j, left) in line_left.iter_mut().enumerate() {
                if !eligible[j] {
                    continue;
                }
                let d = if p.discount_type == "percentage" {
                    pct(*left)
                } else {
                    p.amount.unwrap_or(0).min(*left)
                };
                let d = d.min(order_left - line_discounts.iter().sum::<i64>()).max(0);
                line_discounts[j] = d;
                *left -= d;
            }
            line_discounts.iter().sum()
        } else if p.discount_type == "percentage" {
            pct(order_left)
        } else {
            p.amount.unwrap_or(0).min(order_left)
        };
        order_left -= discount;
        accepted.push((p.code.clone(), p.stackable));
        out.push(Outcome {
            code: p.code.clone(),
            promotion_id: Some(p.id),
            applies: true,
            reason: None,
            message: None,
            discount,
            line_discounts,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Validate and redeem

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartInputLine {
    /// A tenant SKU, alias or platform SKU.
    pub sku: String,
    pub quantity: i64,
    /// Minor units.
    pub unit_price: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartInput {
    /// Promotion codes, applied in this order.
    pub codes: Vec<String>,
    pub currency: String,
    pub lines: Vec<CartInputLine>,
    /// Needed by promotions limited per customer.
    pub customer_email: Option<String>,
    /// Resolve SKUs as this channel sends them.
    pub channel: Option<String>,
    /// Default: now.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub currency: String,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub promotions: Vec<Outcome>,
}

fn check_cart(input: &CartInput, at: &str, errors: &mut Vec<FieldError>) -> String {
    if input.codes.is_empty() || input.codes.len() > MAX_CODES {
        errors.push(FieldError::new(format!("{at}codes"), "invalid", format!("1 to {MAX_CODES} codes")));
    }
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        errors.push(FieldError::new(format!("{at}lines"), "invalid", format!("1 to {MAX_LINES} lines")));
    }
    for (i, l) in input.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&l.quantity) {
            errors.push(FieldError::new(
                format!("{at}lines[{i}].quantity"),
                "out_of_range",
                format!("1 to {MAX_QUANTITY}"),
            ));
        }
        if !(0..=super::MAX_UNIT_PRICE).contains(&l.unit_price) {
            errors.push(FieldError::new(
                format!("{at}lines[{i}].unit_price"),
                "out_of_range",
                "0 to 10^10 minor units",
            ));
        }
    }
    if input.customer_email.as_deref().is_some_and(|e| !e.contains('@') || e.len() > 320) {
        errors.push(FieldError::new(format!("{at}customer_email"), "invalid", "an email address"));
    }
    currency(&input.currency, &format!("{at}currency"), errors)
}

async fn cart_of(
    tx: &Transaction<'_>,
    p: &Principal,
    input: &CartInput,
    currency: String,
) -> Result<Cart, ApiError> {
    let lookups: Vec<Lookup> = input
        .lines
        .iter()
        .map(|l| Lookup { sku: Some(l.sku.clone()), channel: input.channel.clone(), ..Lookup::default() })
        .collect();
    let resolved = resolve(tx, p.tenant, &lookups).await?;
    Ok(Cart {
        currency,
        at: input.at.unwrap_or(p.now),
        customer: input.customer_email.as_deref().map(customer_key),
        lines: input
            .lines
            .iter()
            .zip(resolved)
            .map(|(l, r)| CartLine {
                product_id: r.product_id.filter(|_| r.status == "resolved"),
                amount: l.quantity * l.unit_price,
            })
            .collect(),
    })
}

fn summary(cart: &Cart, promotions: Vec<Outcome>) -> Evaluation {
    let subtotal: i64 = cart.lines.iter().map(|l| l.amount).sum();
    let discount = promotions.iter().filter(|o| o.applies).map(|o| o.discount).sum();
    Evaluation { currency: cart.currency.clone(), subtotal, discount, total: subtotal - discount, promotions }
}

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
    let cart = cart_of(&tx, &principal, &req, cur).await?;
    let outcomes = evaluate(&tx, principal.tenant, &cart, &req.codes).await?;
    tx.commit().await?;
    Ok(Json(summary(&cart, outcomes)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The order the codes are used on (the gateway's order id, or the channel's order number).
    pub order_ref: String,
    pub cart: CartInput,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Redemption {
    pub id: Uuid,
    pub promotion_id: Uuid,
    pub code: String,
    pub order_ref: String,
    pub customer_key: Option<String>,
    pub discount: i64,
    pub currency: String,
    pub redeemed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redeemed {
    pub order_ref: String,
    /// True when the order had already redeemed these codes: nothing was counted again.
    pub replayed: bool,
    pub discount: i64,
    pub redemptions: Vec<Redemption>,
}

const REDEMPTION: &str =
    "SELECT r.id, r.promotion_id, p.code, r.order_ref, r.customer_key, r.discount_minor, r.currency,
        r.redeemed_at
   FROM promotion_redemptions r JOIN promotions p ON p.id = r.promotion_id";

fn redemption(r: &Row) -> Redemption {
    Redemption {
        id: r.get(0),
        promotion_id: r.get(1),
        code: r.get(2),
        order_ref: r.get(3),
        customer_key: r.get(4),
        discount: r.get(5),
        currency: r.get(6),
        redeemed_at: r.get(7),
    }
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
    let order_ref = req.order_ref.trim().to_owned();
    if order_ref.is_empty() || order_ref.chars().count() > 128 {
        errors.push(FieldError::new("order_ref", "invalid", "1 to 128 characters"));
    }
    let cur = check_cart(&req.cart, "cart.", &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    // One redemption at a time per order (whatever codes a retry names), then the promotions (in
    // one order, so concurrent redemptions cannot deadlock); then look for this order's earlier
    // redemption: a retry finds it here and changes nothing.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('promotion-order:' || $1::text || ':' || $2, 0))",
        &[&principal.tenant.to_string(), &order_ref],
    )
    .await?;
    let mut lowered: Vec<String> = req.cart.codes.iter().map(|c| c.trim().to_lowercase()).collect();
    tx.execute(
        "SELECT 1 FROM promotions WHERE tenant_id = $1 AND lower(code) = ANY($2) ORDER BY id FOR UPDATE",
        &[&principal.tenant.as_uuid(), &lowered],
    )
    .await?;
    let earlier: Vec<Redemption> = tx
        .query(
            &format!("{REDEMPTION} WHERE r.tenant_id = $1 AND r.order_ref = $2 ORDER BY r.id"),
            &[&principal.tenant.as_uuid(), &order_ref],
        )
        .await?
        .iter()
        .map(redemption)
        .collect();
    if !earlier.is_empty() {
        let mut had: Vec<String> = earlier.iter().map(|r| r.code.to_lowercase()).collect();
        had.sort();
        lowered.sort();
        lowered.dedup();
        tx.commit().await?;
        if had != lowered {
            return Err(ApiError::Conflict {
                code: "already_redeemed",
                detail: format!(
                    "order {order_ref:?} already redeemed {}",
                    earlier.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let discount = earlier.iter().map(|r| r.discount).sum();
        return Ok((
            StatusCode::OK,
            Json(Redeemed { order_ref, replayed: true, discount, redemptions: earlier }),
        ));
    }
    let cart = cart_of(&tx, &principal, &req.cart, cur).await?;
    let outcomes = evaluate(&tx, principal.tenant, &cart, &req.cart.codes).await?;
    let refused: Vec<FieldError> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.applies)
        .map(|(i, o)| {
            FieldError::new(
                format!("cart.codes[{i}]"),
                o.reason.clone().unwrap_or_default(),
                format!("{}: {}", o.code, o.message.clone().unwrap_or_default()),
            )
        })
        .collect();
    check(refused)?;
    let mut redemptions = Vec::new();
    for o in &outcomes {
        let (id, promotion) = (Uuid::now_v7(), o.promotion_id.unwrap_or_default());
        tx.execute(
            "INSERT INTO promotion_redemptions (id, tenant_id, promotion_id, order_ref, customer_key, discount_minor,
                                                currency, redeemed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&id, &principal.tenant.as_uuid(), &promotion, &order_ref, &cart.customer, &o.discount, &cart.currency, &principal.now],
        )
        .await?;
        tx.execute(
            "UPDATE promotions SET redemption_count = redemption_count + 1 WHERE id = $1",
            &[&promotion],
        )
        .await?;
        let made = redemption(&tx.query_one(&format!("{REDEMPTION} WHERE r.id = $1"), &[&id]).await?);
        audit::record(&tx, &principal, Entry::new("promotion.redeemed", "promotion", promotion).after(&made))
            .await?;
        redemptions.push(made);
    }
    tx.commit().await?;
    let discount = redemptions.iter().map(|r| r.discount).sum();
    Ok((StatusCode::CREATED, Json(Redeemed { order_ref, replayed: false, discount, redemptions })))
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
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    load(&tx, id, false).await?;
    let customer = f.customer_email.as_deref().map(customer_key);
    let rows = tx
        .query(
            &format!(
                "{REDEMPTION} WHERE r.promotion_id = $1 AND ($2::text IS NULL OR r.order_ref = $2)
                   AND ($3::text IS NULL OR r.customer_key = $3) AND ($4::uuid IS NULL OR r.id < $4)
                 ORDER BY r.id DESC LIMIT $5"
            ),
            &[&id, &f.order_ref, &customer, &cursor, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(redemption).collect(), limit, |r: &Redemption| r.id)))
}

// ---------------------------------------------------------------------------------------------
// Promotions

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Promotion {
    pub id: Uuid,
    pub code: String,
    pub description: String,
    /// `percentage` or `fixed`.
    pub discount_type: String,
    /// Percentage in basis points (1050 = 10.5 %).
    pub percent_bp: Option<i32>,
    /// Fixed amount in minor units.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// `order` or `line`.
    pub applies_to: String,
    /// Line-level: only lines for these products (empty: every line).
    pub platform_skus: Vec<String>,
    pub min_order: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub stackable: bool,
    pub active: bool,
    pub redemption_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str =
    "SELECT p.id, p.code, p.description, p.discount_type, p.percent_bp, p.amount_minor, p.currency,
        p.applies_to, ARRAY(SELECT x.sku FROM products x WHERE x.id = ANY(p.product_ids) ORDER BY x.sku),
        p.min_order_minor, p.starts_at, p.ends_at, p.usage_limit, p.per_customer_limit, p.stackable, p.active,
        p.redemption_count, p.created_at, p.updated_at
   FROM promotions p";

fn promotion(r: &Row) -> Promotion {
    Promotion {
        id: r.get(0),
        code: r.get(1),
        description: r.get(2),
        discount_type: r.get(3),
        percent_bp: r.get(4),
        amount: r.get(5),
        currency: r.get(6),
        applies_to: r.get(7),
        platform_skus: r.get(8),
        min_order: r.get(9),
        starts_at: r.get(10),
        ends_at: r.get(11),
        usage_limit: r.get(12),
        per_customer_limit: r.get(13),
        stackable: r.get(14),
        active: r.get(15),
        redemption_count: r.get(16),
        created_at: r.get(17),
        updated_at: r.get(18),
    }
}

async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Promotion, ApiError> {
    crate::platform::db::by_id(tx, SELECT, "p", id, lock, "promotion", promotion).await
}

/// A promotion's terms, checked as a whole (create, and update after merging).
#[derive(Debug, Clone)]
struct Terms {
    description: String,
    discount_type: String,
    percent_bp: Option<i32>,
    amount: Option<i64>,
    currency: Option<String>,
    applies_to: String,
    platform_skus: Vec<String>,
    min_order: Option<i64>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    usage_limit: Option<i32>,
    per_customer_limit: Option<i32>,
    stackable: bool,
    active: bool,
}

fn check_terms(t: &mut Terms, errors: &mut Vec<FieldError>) {
    if t.description.chars().count() > 1000 {
        errors.push(FieldError::new("description", "too_long", "at most 1000 characters"));
    }
    match t.discount_type.as_str() {
        "percentage" => {
            if t.percent_bp.is_none_or(|bp| !(1..=10_000).contains(&bp)) {
                errors.push(FieldError::new(
                    "percent_bp",
                    "required",
                    "1 to 10000 basis points for a percentage",
                ));
            }
            if t.amount.is_some() {
                errors.push(FieldError::new("amount", "not_allowed", "a percentage has no amount"));
            }
        }
        "fixed" => {
            if t.amount.is_none_or(|a| a <= 0) {
                errors.push(FieldError::new("amount", "required", "a positive amount in minor units"));
            }
            if t.percent_bp.is_some() {
                errors.push(FieldError::new(
                    "percent_bp",
                    "not_allowed",
                    "a fixed discount has no percentage",
                ));
            }
            if t.currency.is_none() {
                errors.push(FieldError::new("currency", "required", "the currency of the amount"));
            }
        }
        _ => errors.push(FieldError::new("discount_type", "invalid", "percentage or fixed")),
    }
    if let Some(c) = t.currency.clone() {
        t.currency = Some(currency(&c, "currency", errors));
    }
    if t.applies_to != "order" && t.applies_to != "line" {
        errors.push(FieldError::new("applies_to", "invalid", "order or line"));
    }
    if t.applies_to == "order" && !t.platform_skus.is_empty() {
        errors.push(FieldError::new(
            "platform_skus",
            "not_allowed",
            "only line-level promotions target products",
        ));
    }
    if t.min_order.is_some_and(|m| m < 0) {
        errors.push(FieldError::new("min_order", "out_of_range", "0 or more"));
    }
    if t.min_order.is_some() && t.currency.is_none() {
        errors.push(FieldError::new("currency", "required", "the currency of the minimum order"));
    }
    if let (Some(s), Some(e)) = (t.starts_at, t.ends_at)
        && e <= s
    {
        errors.push(FieldError::new("ends_at", "invalid", "after starts_at"));
    }
    for (name, v) in [("usage_limit", t.usage_limit), ("per_customer_limit", t.per_customer_limit)] {
        if v.is_some_and(|v| v < 1) {
            errors.push(FieldError::new(name, "out_of_range", "1 or more"));
        }
    }
}

/// Product ids for platform SKUs the tenant can sell; a 422 names each unknown one.
async fn product_ids(tx: &Transaction<'_>, skus: &[String]) -> Result<Vec<Uuid>, ApiError> {
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    if skus.len() > 200 {
        return Err(ApiError::Validation(vec![FieldError::new("platform_skus", "invalid", "at most 200")]));
    }
    for (i, sku) in skus.iter().enumerate() {
        match super::sellable(tx, sku).await? {
            Some((id, _)) => ids.push(id),
            None => errors.push(FieldError::new(
                format!("platform_skus[{i}]"),
                "unknown_product",
                format!("no product {sku:?}"),
            )),
        }
    }
    check(errors)?;
    Ok(ids)
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
    let like = f.q.as_deref().map(contains_pattern);
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE p.tenant_id = $1 AND ($2::text IS NULL OR p.code ILIKE $2)
                   AND ($3::bool IS NULL OR p.active = $3)
                   AND ($4::timestamptz IS NULL OR ((p.starts_at IS NULL OR p.starts_at <= $4) AND (p.ends_at IS NULL OR p.ends_at > $4)))
                   AND ($5::uuid IS NULL OR p.id < $5)
                 ORDER BY p.id DESC LIMIT $6"
            ),
            &[&principal.tenant.as_uuid(), &like, &f.active, &f.valid_at, &cursor, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(promotion).collect(), limit, |p: &Promotion| p.id)))
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
    let found = load(&tx, id, false).await?;
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

fn valid_code(code: &str) -> bool {
    let b = code.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'_' || *x == b'-')
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
    let mut t = Terms {
        description: req.description.unwrap_or_default().trim().to_owned(),
        discount_type: req.discount_type,
        percent_bp: req.percent_bp,
        amount: req.amount,
        currency: req.currency,
        applies_to: req.applies_to.unwrap_or_else(|| "order".into()),
        platform_skus: req.platform_skus,
        min_order: req.min_order,
        starts_at: req.starts_at,
        ends_at: req.ends_at,
        usage_limit: req.usage_limit,
        per_customer_limit: req.per_customer_limit,
        stackable: req.stackable.unwrap_or(false),
        active: req.active.unwrap_or(true),
    };
    check_terms(&mut t, &mut errors);
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let products = product_ids(&tx, &t.platform_skus).await?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO promotions (id, tenant_id, code, description, discount_type, percent_bp, amount_minor, currency,
                                 applies_to, product_ids, min_order_minor, starts_at, ends_at, usage_limit,
                                 per_customer_limit, stackable, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)",
        &[
            &id,
            &principal.tenant.as_uuid(),
            &code,
            &t.description,
            &t.discount_type,
            &t.percent_bp,
            &t.amount,
            &t.currency,
            &t.applies_to,
            &products,
            &t.min_order,
            &t.starts_at,
            &t.ends_at,
            &t.usage_limit,
            &t.per_customer_limit,
            &t.stackable,
            &t.active,
            &principal.now,
        ],
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => ApiError::Conflict { code: "code_taken", detail: format!("a promotion has the code {code:?}") },
        None => e.into(),
    })?;
    let made = load(&tx, id, false).await?;
    audit::record(&tx, &principal, Entry::new("promotion.created", "promotion", id).after(&made)).await?;
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
    let before = load(&tx, id, true).await?;
    let mut t = Terms {
        description: req
            .description
            .map(|d| d.trim().to_owned())
            .unwrap_or_else(|| before.description.clone()),
        discount_type: before.discount_type.clone(),
        percent_bp: req.percent_bp.or(before.percent_bp),
        amount: req.amount.or(before.amount),
        currency: before.currency.clone(),
        applies_to: before.applies_to.clone(),
        platform_skus: req.platform_skus.clone().unwrap_or_else(|| before.platform_skus.clone()),
        min_order: req.min_order.unwrap_or(before.min_order),
        starts_at: req.starts_at.unwrap_or(before.starts_at),
        ends_at: req.ends_at.unwrap_or(before.ends_at),
        usage_limit: req.usage_limit.unwrap_or(before.usage_limit),
        per_customer_limit: req.per_customer_limit.unwrap_or(before.per_customer_limit),
        stackable: req.stackable.unwrap_or(before.stackable),
        active: req.active.unwrap_or(before.active),
    };
    let mut errors = Vec::new();
    check_terms(&mut t, &mut errors);
    if t.usage_limit.is_some_and(|l| l < before.redemption_count) {
        errors.push(FieldError::new(
            "usage_limit",
            "below_redemptions",
            format!("{} redemptions were already made", before.redemption_count),
        ));
    }
    check(errors)?;
    // Re-resolved only when given: a product withdrawn since stays targeted (never "every line").
    let products: Vec<Uuid> = match &req.platform_skus {
        Some(skus) => product_ids(&tx, skus).await?,
        None => tx.query_one("SELECT product_ids FROM promotions WHERE id = $1", &[&id]).await?.get(0),
    };
    tx.execute(
        "UPDATE promotions SET description = $2, percent_bp = $3, amount_minor = $4, product_ids = $5,
                min_order_minor = $6, starts_at = $7, ends_at = $8, usage_limit = $9, per_customer_limit = $10,
                stackable = $11, active = $12, updated_at = $13
          WHERE id = $1",
        &[
            &id,
            &t.description,
            &t.percent_bp,
            &t.amount,
            &products,
            &t.min_order,
            &t.starts_at,
            &t.ends_at,
            &t.usage_limit,
            &t.per_customer_limit,
            &t.stackable,
            &t.active,
            &principal.now,
        ],
    )
    .await?;
    let after = load(&tx, id, false).await?;
    let entry = Entry::new("promotion.updated", "promotion", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
