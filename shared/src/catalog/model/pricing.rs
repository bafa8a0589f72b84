//! Price lists and the pricing rules: what a tenant pays for N of a product at an instant.
//!
//! A price list belongs to a tenant, has one currency, an optional customer tier, a validity window
//! `[valid_from, valid_until)`, a priority and a mode. Each product on it has quantity breaks
//! (`min_quantity` → unit price, one of them at 1). `volume`: every unit costs the price of the
//! highest break reached. `graduated`: each band of units costs its own price (units 1-9 at one
//! price, 10-49 at the next...). The list used is, among the active lists valid at that instant
//! that price the product: the tier's own list before the general one, then the higher priority,
//! then the later start. Asking in a currency the product is not priced in is refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::promotions::{MAX_CODES, Outcome};
use crate::platform::error::FieldError;
use crate::platform::validate::{MAX_UNIT_PRICE, code_name, currency};

pub const MODES: &[&str] = &["volume", "graduated"];
/// Largest quantity one line may ask for.
pub const MAX_QUANTITY: i64 = 1_000_000;
/// Lines in one quote.
pub const MAX_LINES: usize = 500;
/// Quantity breaks of one product on one list.
pub const MAX_BREAKS: usize = 50;

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

/// A price list that prices a product at an instant, as the choice reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    pub mode: String,
    pub customer_tier: Option<String>,
}

/// The list to price with: the first of `lists` (best first) in `currency` if one is asked for.
pub fn choose_list<'a>(lists: &'a [Candidate], currency: Option<&str>) -> Result<&'a Candidate, NoPrice> {
    if let Some(list) = lists.iter().find(|l| currency.is_none_or(|c| l.currency == c)) {
        return Ok(list);
    }
    if lists.is_empty() {
        return Err(NoPrice::Unpriced);
    }
    let mut priced_in: Vec<String> = lists.iter().map(|l| l.currency.clone()).collect();
    priced_in.sort();
    priced_in.dedup();
    Err(NoPrice::CurrencyMismatch { priced_in })
}

/// `quantity` priced on `list`'s `breaks`.
pub fn line_price(list: &Candidate, breaks: &[Break], quantity: i64) -> Result<LinePrice, NoPrice> {
    let (bands, subtotal) = compute(&list.mode, breaks, quantity).ok_or(NoPrice::Overflow)?;
    Ok(LinePrice {
        price_list_id: list.id,
        price_list_name: list.name.clone(),
        currency: list.currency.clone(),
        mode: list.mode.clone(),
        customer_tier: list.customer_tier.clone(),
        unit_price: subtotal / quantity.max(1),
        subtotal,
        bands,
    })
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

/// A price list's fields as written (create, and update after merging).
#[derive(Debug, Clone)]
pub struct ListFields {
    pub name: String,
    pub customer_tier: Option<String>,
    pub mode: String,
    pub priority: i32,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPrices {
    pub product_id: Uuid,
    pub platform_sku: String,
    pub breaks: Vec<Break>,
}

/// Rows of (product, SKU, break), sorted by product, grouped per product.
pub fn group_prices(rows: impl IntoIterator<Item = (Uuid, String, Break)>) -> Vec<ProductPrices> {
    let mut prices: Vec<ProductPrices> = Vec::new();
    for (product, sku, b) in rows {
        match prices.last_mut() {
            Some(last) if last.product_id == product => last.breaks.push(b),
            _ => prices.push(ProductPrices { product_id: product, platform_sku: sku, breaks: vec![b] }),
        }
    }
    prices
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceListDetail {
    #[serde(flatten)]
    pub list: PriceList,
    pub prices: Vec<ProductPrices>,
}

/// A tier is a code name, the mode one of [`MODES`], the window not empty.
pub fn check_list_fields(
    tier: Option<&str>,
    mode: Option<&str>,
    window: (DateTime<Utc>, Option<DateTime<Utc>>),
    errors: &mut Vec<FieldError>,
) {
    if tier.is_some_and(|t| !code_name(t)) {
        errors.push(FieldError::new("customer_tier", "invalid", "1-63 of a-z, 0-9, '_' and '-'"));
    }
    if mode.is_some_and(|m| !MODES.contains(&m)) {
        errors.push(FieldError::new("mode", "invalid", "volume or graduated"));
    }
    if window.1.is_some_and(|until| until <= window.0) {
        errors.push(FieldError::new("valid_until", "invalid", "after valid_from"));
    }
}

/// Checks one product's quantity breaks; returns them sorted by `min_quantity`.
pub fn check_breaks(given: &[Break], errors: &mut Vec<FieldError>) -> Vec<Break> {
    let mut breaks = given.to_vec();
    breaks.sort_by_key(|b| b.min_quantity);
    if breaks.is_empty() || breaks.len() > MAX_BREAKS {
        errors.push(FieldError::new("breaks", "invalid", format!("1 to {MAX_BREAKS} breaks")));
    }
    for (i, b) in given.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&b.min_quantity) {
            errors.push(FieldError::new(
                format!("breaks[{i}].min_quantity"),
                "out_of_range",
                format!("1 to {MAX_QUANTITY}"),
            ));
        }
        if !(0..=MAX_UNIT_PRICE).contains(&b.unit_price) {
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
    breaks
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

impl QuoteRequest {
    /// Checks the lines and the code count; returns the currency asked for, uppercased.
    pub fn check(&self, errors: &mut Vec<FieldError>) -> Option<String> {
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            errors.push(FieldError::new("lines", "invalid", format!("1 to {MAX_LINES} lines")));
        }
        for (i, l) in self.lines.iter().enumerate() {
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
        if self.promotion_codes.len() > MAX_CODES {
            errors.push(FieldError::new("promotion_codes", "invalid", format!("at most {MAX_CODES} codes")));
        }
        self.currency.as_deref().map(|c| currency(c, "currency", errors))
    }
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

impl Quote {
    /// The quote of priced lines after the promotions' verdicts: each applying code's line
    /// discounts come off its lines; the order total loses every applying discount.
    pub fn of(
        currency: String,
        at: DateTime<Utc>,
        mut lines: Vec<QuotedLine>,
        promotions: Vec<Outcome>,
    ) -> Self {
        for o in promotions.iter().filter(|o| o.applies) {
            for (line, d) in lines.iter_mut().zip(&o.line_discounts) {
                line.discount += d;
                line.total -= d;
            }
        }
        let subtotal: i64 = lines.iter().map(|l| l.price.subtotal).sum();
        let discount: i64 = promotions.iter().filter(|o| o.applies).map(|o| o.discount).sum();
        Self { currency, at, lines, subtotal, discount, total: subtotal - discount, promotions }
    }
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
