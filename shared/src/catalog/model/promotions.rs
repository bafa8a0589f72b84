//! Promotions: codes with a percentage (basis points) or fixed discount, on the order or on lines
//! (optionally only some products), within a window, with usage limits in total and per
//! customer, a minimum order and a stacking rule.
//!
//! [`evaluate_codes`] says for each code whether it applies to a cart and, if not, exactly why (one
//! reason code per rule). Codes apply in the order given, each on what the earlier ones left:
//! percentages round down; a fixed line discount comes off each eligible line; no discount takes a
//! line or the order below zero. A code that is not `stackable` is used alone: the first code that
//! applies wins and a later one is refused `not_combinable`. It is pure: the promotions and the
//! customer's earlier uses are loaded first.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Error;
use super::pricing::{MAX_LINES, MAX_QUANTITY};
use crate::platform::error::FieldError;
use crate::platform::validate::{MAX_UNIT_PRICE, currency};

/// Codes one cart may carry.
pub const MAX_CODES: usize = 10;
/// Platform SKUs one promotion may target.
pub const MAX_TARGETS: usize = 200;

/// The identity per-customer limits count by: the email, trimmed and lowercased.
pub fn customer_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// What a promotion is checked against.
#[derive(Debug, Clone)]
pub struct Cart {
    pub currency: String,
    pub at: DateTime<Utc>,
    pub customer: Option<String>,
    pub lines: Vec<CartLine>,
}

impl Cart {
    pub fn subtotal(&self) -> i64 {
        self.lines.iter().map(|l| l.amount).sum()
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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

/// A promotion as evaluation reads it.
#[derive(Debug, Clone, Default)]
pub struct Promo {
    pub id: Uuid,
    pub code: String,
    /// `percentage` or `fixed`.
    pub discount_type: String,
    pub percent_bp: Option<i32>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// `order` or `line`.
    pub applies_to: String,
    pub product_ids: Vec<Uuid>,
    pub min_order: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub stackable: bool,
    pub active: bool,
    pub redemptions: i32,
}

/// An amount as a message shows it: `12.34 EUR`.
pub fn money(amount: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", amount / 100, (amount % 100).abs())
}

/// The codes as looked up: trimmed and lowercased.
pub fn lowered(codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| c.trim().to_lowercase()).collect()
}

/// Why `p` cannot apply to `cart` at all (before stacking and eligible lines), if it cannot:
/// switched off, outside its window, another currency, used up (in total or by this customer),
/// or a minimum the cart does not reach. `used_by_customer`: this customer's earlier uses.
pub fn refusal(p: &Promo, cart: &Cart, used_by_customer: i64) -> Option<(&'static str, String)> {
    let subtotal = cart.subtotal();
    if !p.active {
        Some(("inactive", "the promotion is switched off".to_owned()))
    } else if let Some(s) = p.starts_at.filter(|s| cart.at < *s) {
        Some(("not_started", format!("valid from {}", s.to_rfc3339())))
    } else if let Some(e) = p.ends_at.filter(|e| cart.at >= *e) {
        Some(("expired", format!("ended at {}", e.to_rfc3339())))
    } else if let Some(c) = p.currency.as_ref().filter(|c| **c != cart.currency) {
        Some(("currency_mismatch", format!("the promotion is in {c}, the order in {}", cart.currency)))
    } else if let Some(l) = p.usage_limit.filter(|l| p.redemptions >= *l) {
        Some(("usage_limit_reached", format!("all {l} uses are taken")))
    } else if p.per_customer_limit.is_some() && cart.customer.is_none() {
        Some((
            "customer_required",
            "limited per customer: say who the customer is (customer_email)".to_owned(),
        ))
    } else if p.per_customer_limit.is_some_and(|l| used_by_customer >= i64::from(l)) {
        Some(("customer_limit_reached", format!("this customer used it {used_by_customer} times already")))
    } else if let Some(m) = p.min_order.filter(|m| subtotal < *m) {
        let cur = p.currency.as_deref().unwrap_or(&cart.currency);
        Some((
            "minimum_not_met",
            format!("needs an order of at least {}, this one is {}", money(m, cur), money(subtotal, cur)),
        ))
    } else {
        None
    }
}

/// Which cart lines a promotion covers: every line when it names no products, else the lines
/// for one of them.
pub fn eligible_lines(p: &Promo, cart: &Cart) -> Vec<bool> {
    cart.lines
        .iter()
        .map(|l| p.product_ids.is_empty() || l.product_id.is_some_and(|id| p.product_ids.contains(&id)))
        .collect()
}

/// A percentage in basis points of `amount`, rounded down.
pub fn percent_of(amount: i64, bp: i32) -> i64 {
    (i128::from(amount) * i128::from(bp) / 10_000) as i64
}

/// What `p` takes off: the discount and its part on each line. `line_left` (each line's amount
/// after earlier codes) is reduced by the line discounts; nothing goes below zero, and the lines
/// together never take more than `order_left`.
pub fn discount(p: &Promo, eligible: &[bool], line_left: &mut [i64], order_left: i64) -> (i64, Vec<i64>) {
    let mut line_discounts = vec![0i64; line_left.len()];
    let percentage = p.discount_type == "percentage";
    let off = |amount: i64| {
        if percentage {
            percent_of(amount, p.percent_bp.unwrap_or(0))
        } else {
            p.amount.unwrap_or(0).min(amount)
        }
    };
    if p.applies_to != "line" {
        return (off(order_left), line_discounts);
    }
    for (j, left) in line_left.iter_mut().enumerate() {
        if !eligible[j] {
            continue;
        }
        let d = off(*left).min(order_left - line_discounts.iter().sum::<i64>()).max(0);
        line_discounts[j] = d;
        *left -= d;
    }
    (line_discounts.iter().sum(), line_discounts)
}

/// Checks each code against the cart, in order (see the module doc). `promos`: the tenant's
/// promotions by lowercased code; `used_by_customer`: the cart's customer's earlier redemptions
/// per promotion.
pub fn evaluate_codes(
    promos: &HashMap<String, Promo>,
    used_by_customer: &HashMap<Uuid, i64>,
    cart: &Cart,
    codes: &[String],
) -> Vec<Outcome> {
    let lowered = lowered(codes);
    let mut line_left: Vec<i64> = cart.lines.iter().map(|l| l.amount).collect();
    let mut order_left = cart.subtotal();
    let mut accepted: Vec<(String, bool)> = Vec::new();
    let mut out = Vec::with_capacity(codes.len());
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
        if let Some((reason, message)) = refusal(p, cart, used_by_customer.get(&p.id).copied().unwrap_or(0)) {
            out.push(refuse(Some(p.id), reason, message));
            continue;
        }
        let eligible = eligible_lines(p, cart);
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
        let (discount, line_discounts) = discount(p, &eligible, &mut line_left, order_left);
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
    out
}

/// The codes that do not apply, as field errors at `at` (`cart.codes`, `promotion_codes`).
pub fn refused_codes(outcomes: &[Outcome], at: &str) -> Vec<FieldError> {
    outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.applies)
        .map(|(i, o)| {
            FieldError::new(
                format!("{at}[{i}]"),
                o.reason.clone().unwrap_or_default(),
                format!("{}: {}", o.code, o.message.clone().unwrap_or_default()),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Carts as the API takes them

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

/// Checks a cart (field names prefixed with `at`); returns its currency, uppercased.
pub fn check_cart(input: &CartInput, at: &str, errors: &mut Vec<FieldError>) -> String {
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
        if !(0..=MAX_UNIT_PRICE).contains(&l.unit_price) {
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

/// A redemption's order reference: 1 to 128 characters, trimmed.
pub fn check_order_ref(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let order_ref = raw.trim().to_owned();
    if order_ref.is_empty() || order_ref.chars().count() > 128 {
        errors.push(FieldError::new("order_ref", "invalid", "1 to 128 characters"));
    }
    order_ref
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromotionEvaluation)]
pub struct Evaluation {
    pub currency: String,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub promotions: Vec<Outcome>,
}

impl Evaluation {
    pub fn of(cart: &Cart, promotions: Vec<Outcome>) -> Self {
        let subtotal = cart.subtotal();
        let discount = promotions.iter().filter(|o| o.applies).map(|o| o.discount).sum();
        Self { currency: cart.currency.clone(), subtotal, discount, total: subtotal - discount, promotions }
    }
}

// ---------------------------------------------------------------------------------------------
// Redemptions

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
    /// When the order was cancelled and the use given back (it no longer counts against limits).
    pub released_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redeemed {
    pub order_ref: String,
    /// True when the order had already redeemed these codes: nothing was counted again.
    pub replayed: bool,
    pub discount: i64,
    pub redemptions: Vec<Redemption>,
}

impl Redeemed {
    pub fn of(order_ref: String, replayed: bool, redemptions: Vec<Redemption>) -> Self {
        let discount = redemptions.iter().map(|r| r.discount).sum();
        Self { order_ref, replayed, discount, redemptions }
    }
}

/// An order that already redeemed codes: the same codes (any order, any case, repeats ignored)
/// replay its redemptions; other codes are a conflict.
pub fn replay(order_ref: String, earlier: Vec<Redemption>, codes: &[String]) -> Result<Redeemed, Error> {
    let mut had: Vec<String> = earlier.iter().map(|r| r.code.to_lowercase()).collect();
    had.sort();
    let mut asked = lowered(codes);
    asked.sort();
    asked.dedup();
    if had != asked {
        return Err(Error::Conflict {
            code: "already_redeemed",
            detail: format!(
                "order {order_ref:?} already redeemed {}",
                earlier.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(Redeemed::of(order_ref, true, earlier))
}

// ---------------------------------------------------------------------------------------------
// Promotions as the API shows and takes them

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

/// Whether a promotion code is well formed: 1-64 of letters, digits, `_` and `-`, starting with a
/// letter or digit.
pub fn valid_code(code: &str) -> bool {
    let b = code.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'_' || *x == b'-')
}

/// A promotion's terms, checked as a whole (create, and update after merging).
#[derive(Debug, Clone, Default)]
pub struct Terms {
    pub description: String,
    pub discount_type: String,
    pub percent_bp: Option<i32>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub applies_to: String,
    pub platform_skus: Vec<String>,
    pub min_order: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub stackable: bool,
    pub active: bool,
}

impl Terms {
    /// Checks the terms (the currency is uppercased in place).
    pub fn check(&mut self, errors: &mut Vec<FieldError>) {
        if self.description.chars().count() > 1000 {
            errors.push(FieldError::new("description", "too_long", "at most 1000 characters"));
        }
        self.check_discount(errors);
        if let Some(c) = self.currency.clone() {
            self.currency = Some(currency(&c, "currency", errors));
        }
        if self.applies_to != "order" && self.applies_to != "line" {
            errors.push(FieldError::new("applies_to", "invalid", "order or line"));
        }
        if self.applies_to == "order" && !self.platform_skus.is_empty() {
            errors.push(FieldError::new(
                "platform_skus",
                "not_allowed",
                "only line-level promotions target products",
            ));
        }
        if self.min_order.is_some_and(|m| m < 0) {
            errors.push(FieldError::new("min_order", "out_of_range", "0 or more"));
        }
        if self.min_order.is_some() && self.currency.is_none() {
            errors.push(FieldError::new("currency", "required", "the currency of the minimum order"));
        }
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at)
            && e <= s
        {
            errors.push(FieldError::new("ends_at", "invalid", "after starts_at"));
        }
        for (name, v) in [("usage_limit", self.usage_limit), ("per_customer_limit", self.per_customer_limit)]
        {
            if v.is_some_and(|v| v < 1) {
                errors.push(FieldError::new(name, "out_of_range", "1 or more"));
            }
        }
    }

    /// A percentage has basis points and no amount; a fixed discount an amount, its currency, and
    /// no percentage.
    fn check_discount(&self, errors: &mut Vec<FieldError>) {
        match self.discount_type.as_str() {
            "percentage" => {
                if self.percent_bp.is_none_or(|bp| !(1..=10_000).contains(&bp)) {
                    errors.push(FieldError::new(
                        "percent_bp",
                        "required",
                        "1 to 10000 basis points for a percentage",
                    ));
                }
                if self.amount.is_some() {
                    errors.push(FieldError::new("amount", "not_allowed", "a percentage has no amount"));
                }
            }
            "fixed" => {
                if self.amount.is_none_or(|a| a <= 0) {
                    errors.push(FieldError::new("amount", "required", "a positive amount in minor units"));
                }
                if self.percent_bp.is_some() {
                    errors.push(FieldError::new(
                        "percent_bp",
                        "not_allowed",
                        "a fixed discount has no percentage",
                    ));
                }
                if self.currency.is_none() {
                    errors.push(FieldError::new("currency", "required", "the currency of the amount"));
                }
            }
            _ => errors.push(FieldError::new("discount_type", "invalid", "percentage or fixed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn cart(amounts: &[i64]) -> Cart {
        Cart {
            currency: "EUR".into(),
            at: at(),
            customer: None,
            lines: amounts
                .iter()
                .map(|a| CartLine { product_id: Some(Uuid::from_u128(*a as u128)), amount: *a })
                .collect(),
        }
    }

    fn percent(code: &str, bp: i32) -> Promo {
        Promo {
            id: Uuid::now_v7(),
            code: code.into(),
            discount_type: "percentage".into(),
            percent_bp: Some(bp),
            applies_to: "order".into(),
            active: true,
            ..Promo::default()
        }
    }

    fn fixed(code: &str, amount: i64) -> Promo {
        Promo {
            discount_type: "fixed".into(),
            percent_bp: None,
            amount: Some(amount),
            currency: Some("EUR".into()),
            ..percent(code, 0)
        }
    }

    fn run(promos: Vec<Promo>, cart: &Cart, codes: &[&str]) -> Vec<Outcome> {
        let by_code = promos.into_iter().map(|p| (p.code.to_lowercase(), p)).collect();
        let codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
        evaluate_codes(&by_code, &HashMap::new(), cart, &codes)
    }

    fn reasons(out: &[Outcome]) -> Vec<Option<&str>> {
        out.iter().map(|o| o.reason.as_deref()).collect()
    }

    #[test]
    fn a_percentage_of_the_order_rounds_down() {
        let out = run(vec![percent("TEN", 1050)], &cart(&[999]), &["ten"]);
        assert!(out[0].applies);
        assert_eq!(out[0].discount, 104); // 10.5 % of 9.99 = 1.04895
        assert_eq!(out[0].code, "TEN");
        assert_eq!(percent_of(1, 9_999), 0);
    }

    #[test]
    fn a_fixed_order_discount_never_takes_the_order_below_zero() {
        let out = run(vec![fixed("OFF", 5_000)], &cart(&[1_000, 2_000]), &["OFF"]);
        assert_eq!(out[0].discount, 3_000);
        assert_eq!(out[0].line_discounts, vec![0, 0]);
    }

    #[test]
    fn a_fixed_line_discount_comes_off_each_eligible_line() {
        let mut p = fixed("LINE", 500);
        p.applies_to = "line".into();
        p.product_ids = vec![Uuid::from_u128(300), Uuid::from_u128(1_000)];
        let out = run(vec![p], &cart(&[1_000, 2_000, 300]), &["LINE"]);
        assert_eq!(out[0].line_discounts, vec![500, 0, 300]);
        assert_eq!(out[0].discount, 800);
    }

    #[test]
    fn a_line_promotion_with_no_eligible_line_is_refused() {
        let mut p = percent("LINE", 1_000);
        p.applies_to = "line".into();
        p.product_ids = vec![Uuid::from_u128(42)];
        let out = run(vec![p], &cart(&[1_000]), &["LINE"]);
        assert_eq!(reasons(&out), [Some("no_eligible_lines")]);
        assert_eq!(out[0].line_discounts, vec![0]);
    }

    #[test]
    fn stackable_codes_apply_in_order_on_what_the_earlier_left() {
        let (mut a, mut b) = (percent("A", 5_000), fixed("B", 300));
        a.stackable = true;
        b.stackable = true;
        let out = run(vec![a, b], &cart(&[1_000]), &["A", "B"]);
        assert_eq!(out.iter().map(|o| o.discount).collect::<Vec<_>>(), [500, 300]);
        let (mut a, mut b) = (percent("A", 5_000), fixed("B", 800));
        a.stackable = true;
        b.stackable = true;
        let out = run(vec![b, a], &cart(&[1_000]), &["B", "A"]);
        assert_eq!(out.iter().map(|o| o.discount).collect::<Vec<_>>(), [800, 100]);
    }

    #[test]
    fn a_code_that_is_not_stackable_is_used_alone() {
        let mut b = percent("B", 1_000);
        b.stackable = true;
        let out = run(vec![percent("A", 1_000), b.clone()], &cart(&[1_000]), &["A", "B"]);
        assert_eq!(reasons(&out), [None, Some("not_combinable")]);
        assert_eq!(out[1].message.as_deref(), Some("cannot be combined with A"));
        // The exclusive one comes second: the first (stackable) one wins.
        let out = run(vec![percent("A", 1_000), b], &cart(&[1_000]), &["B", "A"]);
        assert_eq!(reasons(&out), [None, Some("not_combinable")]);
    }

    #[test]
    fn unknown_and_repeated_codes_are_refused() {
        let out = run(vec![percent("A", 1_000)], &cart(&[1_000]), &["nope", " a ", "A"]);
        assert_eq!(reasons(&out), [Some("unknown_code"), None, Some("duplicate_code")]);
        assert_eq!(out[0].promotion_id, None);
        assert_eq!(out[1].code, "A");
    }

    #[test]
    fn each_rule_refuses_with_its_own_reason() {
        let c = cart(&[1_000]);
        let cases: Vec<(Promo, &str)> = vec![
            (Promo { active: false, ..percent("X", 100) }, "inactive"),
            (
                Promo { starts_at: Some(at() + chrono::Duration::seconds(1)), ..percent("X", 100) },
                "not_started",
            ),
            (Promo { ends_at: Some(at()), ..percent("X", 100) }, "expired"),
            (Promo { currency: Some("USD".into()), ..percent("X", 100) }, "currency_mismatch"),
            (Promo { usage_limit: Some(3), redemptions: 3, ..percent("X", 100) }, "usage_limit_reached"),
            (Promo { per_customer_limit: Some(1), ..percent("X", 100) }, "customer_required"),
            (Promo { min_order: Some(1_001), ..percent("X", 100) }, "minimum_not_met"),
        ];
        for (p, reason) in cases {
            assert_eq!(refusal(&p, &c, 0).map(|r| r.0), Some(reason));
        }
        let with_customer = Cart { customer: Some("a@b.c".into()), ..c.clone() };
        let limited = Promo { per_customer_limit: Some(2), ..percent("X", 100) };
        assert_eq!(refusal(&limited, &with_customer, 1), None);
        assert_eq!(refusal(&limited, &with_customer, 2).map(|r| r.0), Some("customer_limit_reached"));
        // The window is [starts_at, ends_at): open at its start.
        assert_eq!(refusal(&Promo { starts_at: Some(at()), ..percent("X", 100) }, &c, 0), None);
        assert_eq!(
            refusal(&Promo { min_order: Some(1_001), ..percent("X", 100) }, &c, 0).map(|r| r.1),
            Some("needs an order of at least 10.01 EUR, this one is 10.00 EUR".to_owned())
        );
    }

    #[test]
    fn limits_are_counted_per_customer_from_what_was_loaded() {
        let p = Promo { per_customer_limit: Some(1), ..percent("ONCE", 1_000) };
        let id = p.id;
        let c = Cart { customer: Some("a@b.c".into()), ..cart(&[1_000]) };
        let promos = HashMap::from([("once".to_owned(), p)]);
        let codes = vec!["ONCE".to_owned()];
        assert!(evaluate_codes(&promos, &HashMap::new(), &c, &codes)[0].applies);
        let used = HashMap::from([(id, 1)]);
        assert_eq!(
            evaluate_codes(&promos, &used, &c, &codes)[0].reason.as_deref(),
            Some("customer_limit_reached")
        );
    }

    #[test]
    fn a_replay_needs_the_same_codes() {
        let r = |code: &str| Redemption {
            id: Uuid::now_v7(),
            promotion_id: Uuid::now_v7(),
            code: code.into(),
            order_ref: "o-1".into(),
            customer_key: None,
            discount: 100,
            currency: "EUR".into(),
            redeemed_at: at(),
            released_at: None,
        };
        let same = replay("o-1".into(), vec![r("A"), r("B")], &["b".into(), "A".into(), "a".into()]);
        assert!(matches!(same, Ok(Redeemed { replayed: true, discount: 200, .. })));
        let other = replay("o-1".into(), vec![r("A")], &["C".into()]);
        assert!(matches!(other, Err(Error::Conflict { code: "already_redeemed", .. })));
    }

    #[test]
    fn terms_are_checked_whole() {
        let mut t = Terms {
            discount_type: "fixed".into(),
            applies_to: "order".into(),
            platform_skus: vec!["X".into()],
            ..Terms::default()
        };
        let mut errors = Vec::new();
        t.check(&mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["amount", "currency", "platform_skus"]);
        assert!(valid_code("SUMMER-25"));
        assert!(!valid_code("-x"));
        assert_eq!(customer_key(" A@B.c "), "a@b.c");
    }
}
