//! The intake pipeline every order goes through, whatever its channel: check the input (refused
//! with every problem at once), resolve SKUs, check approvals, price (keep a channel's prices and
//! compare them with the tenant's list; price the others from the list and promotions), check the
//! channel's payment. A fixable problem (unknown SKU, channel price off the list, channel payment
//! not secured) holds the order in `needs_review` with a hold per problem; otherwise it is
//! `accepted`. Nothing here writes: [`evaluate`] is what `POST /orders/validate` answers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Transaction;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::{self as promotions, Cart, CartLine, MAX_CODES, customer_key};
use crate::catalog::{Lookup, resolve};
use crate::catalog::{MAX_LINES, MAX_QUANTITY, price};
use crate::orders::model::Error;
use crate::orders::{Address, OrderInput};
use crate::platform::error::FieldError;
use crate::platform::tenant::TenantId;
use crate::platform::validate::{MAX_UNIT_PRICE, currency};

/// Channel payment statuses that secure an order.
pub const SECURED: &[&str] = &["paid", "authorized"];

/// Where the order comes from, as far as the checks care.
#[derive(Debug, Clone)]
pub struct Context {
    pub tenant: TenantId,
    pub at: DateTime<Utc>,
    /// The channel's code (SKU mappings per channel) and price tolerance, for channel orders.
    pub channel: Option<(String, i32)>,
    /// US states the tenant ships to (empty: anywhere).
    pub serviceable_states: Vec<String>,
}

/// A fixable problem: the order is kept, held in `needs_review`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Hold {
    /// `unknown_sku`, `price_mismatch` or `payment_unsecured`.
    pub kind: String,
    /// The line (from 0), when it is about one.
    pub line: Option<usize>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvaluatedLine {
    pub tenant_sku: Option<String>,
    pub channel_product_id: Option<String>,
    pub channel_variant_id: Option<String>,
    pub name: Option<String>,
    /// `None` while the SKU is unknown.
    pub product_id: Option<Uuid>,
    pub platform_sku: Option<String>,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
}

/// What the pipeline made of an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluation {
    /// `accepted` or `needs_review`.
    pub status: crate::orders::model::OrderStatus,
    pub currency: String,
    pub lines: Vec<EvaluatedLine>,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    /// `channel` (the channel's prices, kept) or `price_list` (with lists and promotions used).
    #[schema(value_type = Object)]
    pub pricing: serde_json::Value,
    pub holds: Vec<Hold>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn check_address(a: &Address, at: &str, serviceable: &[String], errors: &mut Vec<FieldError>) {
    for (name, v) in
        [("line1", &a.line1), ("city", &a.city), ("postal_code", &a.postal_code), ("country", &a.country)]
    {
        if blank(v).is_none() {
            errors.push(FieldError::new(format!("{at}.{name}"), "required", "the address is incomplete"));
        }
    }
    let country = blank(&a.country).map(str::to_ascii_uppercase);
    if country.as_ref().is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase())) {
        errors.push(FieldError::new(format!("{at}.country"), "invalid", "an ISO 3166-1 alpha-2 code"));
    }
    let state = blank(&a.state).map(str::to_ascii_uppercase);
    if country.as_deref() == Some("US") {
        match &state {
            None => errors.push(FieldError::new(
                format!("{at}.state"),
                "required",
                "a US address needs its state",
            )),
            Some(s) if !serviceable.is_empty() && !serviceable.iter().any(|x| x.eq_ignore_ascii_case(s)) => {
                errors.push(FieldError::new(
                    format!("{at}.state"),
                    "unserviceable_destination",
                    format!("this tenant does not ship to {s}; it ships to {}", serviceable.join(", ")),
                ))
            }
            Some(_) => {}
        }
    } else if !serviceable.is_empty() && country.is_some() {
        errors.push(FieldError::new(
            format!("{at}.country"),
            "unserviceable_destination",
            format!("this tenant ships only to US states {}", serviceable.join(", ")),
        ));
    }
    for (name, v, max) in
        [("name", &a.name, 200), ("line1", &a.line1, 300), ("line2", &a.line2, 300), ("city", &a.city, 100)]
    {
        if v.as_ref().is_some_and(|v| v.chars().count() > max) {
            errors.push(FieldError::new(
                format!("{at}.{name}"),
                "too_long",
                format!("at most {max} characters"),
            ));
        }
    }
}

/// A card number must never enter the system: a token that looks like one is refused.
fn looks_like_card_number(token: &str) -> bool {
    let digits: String = token.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (13..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Line totals after their discounts and tax, and the order's shipping, tax and total: the
/// channel's where it sent them, computed otherwise.
pub fn settle(
    lines: &mut [EvaluatedLine],
    subtotal: i64,
    discount: i64,
    input: &OrderInput,
) -> (i64, i64, i64) {
    for l in lines.iter_mut() {
        l.total = l.total - l.discount.min(l.total) + l.tax;
    }
    let shipping = input.shipping.unwrap_or(0);
    let tax = input.tax.unwrap_or_else(|| lines.iter().map(|l| l.tax).sum());
    let total = input.total.unwrap_or((subtotal - discount).max(0) + shipping + tax);
    (shipping, tax, total)
}

/// An order paid on its channel is held until the channel reports the payment secured.
pub fn payment_hold(payment: &crate::orders::Payment) -> Option<Hold> {
    if payment.source != "external" {
        return None;
    }
    let status = blank(&payment.status).unwrap_or("").to_ascii_lowercase();
    (!SECURED.contains(&status.as_str())).then(|| Hold {
        kind: "payment_unsecured".into(),
        line: None,
        detail: format!("the channel reports the payment as {status:?}, not paid or authorized"),
    })
}

/// The checks that need nothing but the input; every problem at once.
pub fn check_input(input: &OrderInput, ctx: &Context) -> Result<String, Error> {
    let mut errors = Vec::new();
    let cur = if input.currency.trim().is_empty() {
        errors.push(FieldError::new(
            "currency",
            "required",
            "ISO 4217 (this tenant has no default currency: orders.currency)",
        ));
        String::new()
    } else {
        currency(&input.currency, "currency", &mut errors)
    };
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", "invalid", format!("1 to {MAX_LINES} lines")));
    }
    let priced = input.lines.iter().filter(|l| l.unit_price.is_some()).count();
    if priced == 0 {
        // Priced by the tenant's list and promotions: the amounts are computed here, never taken.
        for (name, given) in [("total", input.total.is_some()), ("discount", input.discount.is_some())] {
            if given {
                errors.push(FieldError::new(
                    name,
                    "not_allowed",
                    "computed from the price list and promotions",
                ));
            }
        }
        for (i, _) in input.lines.iter().enumerate().filter(|(_, l)| l.discount.is_some()) {
            errors.push(FieldError::new(
                format!("lines[{i}].discount"),
                "not_allowed",
                "computed from the promotions",
            ));
        }
    }
    if priced != 0 && priced != input.lines.len() {
        errors.push(FieldError::new(
            "lines",
            "mixed_pricing",
            "give every line's unit_price, or none (priced by the price list)",
        ));
    }
    for (i, l) in input.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&l.quantity) {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "out_of_range",
                format!("1 to {MAX_QUANTITY}"),
            ));
        }
        for (name, v) in [("unit_price", l.unit_price), ("discount", l.discount), ("tax", l.tax)] {
            if v.is_some_and(|v| !(0..=MAX_UNIT_PRICE).contains(&v)) {
                errors.push(FieldError::new(
                    format!("lines[{i}].{name}"),
                    "out_of_range",
                    "0 to 10^10 minor units",
                ));
            }
        }
        if blank(&l.sku).is_none() && blank(&l.product_id).is_none() {
            errors.push(FieldError::new(
                format!("lines[{i}].sku"),
                "required",
                "a sku or a channel product_id",
            ));
        }
        for (name, v, max) in [
            ("sku", &l.sku, 128),
            ("product_id", &l.product_id, 64),
            ("variant_id", &l.variant_id, 64),
            ("name", &l.name, 300),
        ] {
            if v.as_ref().is_some_and(|v| v.chars().count() > max) {
                errors.push(FieldError::new(
                    format!("lines[{i}].{name}"),
                    "too_long",
                    format!("at most {max} characters"),
                ));
            }
        }
    }
    for (name, v) in [
        ("shipping", input.shipping),
        ("tax", input.tax),
        ("discount", input.discount),
        ("total", input.total),
    ] {
        if v.is_some_and(|v| !(0..=MAX_UNIT_PRICE * 1000).contains(&v)) {
            errors.push(FieldError::new(name, "out_of_range", "0 to 10^13 minor units"));
        }
    }
    match &input.shipping_address {
        Some(a) => check_address(a, "shipping_address", &ctx.serviceable_states, &mut errors),
        None => errors.push(FieldError::new("shipping_address", "required", "where the order goes")),
    }
    if let Some(a) = &input.billing_address {
        check_address(a, "billing_address", &[], &mut errors);
    }
    for (name, v, max) in [
        ("customer.name", &input.customer.name, 200),
        ("customer.phone", &input.customer.phone, 50),
        ("payment.status", &input.payment.status, 50),
        ("payment.reference", &input.payment.reference, 200),
    ] {
        if v.as_ref().is_some_and(|v| v.chars().count() > max) {
            errors.push(FieldError::new(name, "too_long", format!("at most {max} characters")));
        }
    }
    let email = blank(&input.customer.email);
    if email.is_some_and(|e| !e.contains('@') || e.len() > 320) {
        errors.push(FieldError::new("customer.email", "invalid", "an email address"));
    }
    match input.payment.source.as_str() {
        "token" => match blank(&input.payment.token) {
            None if input.payment.payment_method_id.is_some() => {}
            None => errors.push(FieldError::new(
                "payment.token",
                "required",
                "the gateway payment token to charge (or payment.payment_method_id, a stored method)",
            )),
            Some(_) if input.payment.payment_method_id.is_some() => errors.push(FieldError::new(
                "payment.payment_method_id",
                "conflict",
                "either a one-time token or a stored payment method, not both",
            )),
            Some(t) if looks_like_card_number(t) => errors.push(FieldError::new(
                "payment.token",
                "card_number_refused",
                "card numbers never enter the gateway: send the payment gateway's token",
            )),
            Some(t) if t.len() > 200 => {
                errors.push(FieldError::new("payment.token", "too_long", "at most 200 characters"))
            }
            Some(_) => {}
        },
        "external" => {
            if blank(&input.payment.status).is_none() {
                errors.push(FieldError::new("payment.status", "required", "the channel's payment status"));
            }
        }
        "terms" => {}
        "" => errors.push(FieldError::new(
            "payment.source",
            "required",
            "token, external or terms (this tenant has no default payment source: orders.default_payment_source)",
        )),
        _ => errors.push(FieldError::new("payment.source", "invalid", "token, external or terms")),
    }
    if input.promotion_codes.len() > MAX_CODES {
        errors.push(FieldError::new("promotion_codes", "invalid", format!("at most {MAX_CODES} codes")));
    }
    if input.notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        errors.push(FieldError::new("notes", "too_long", "at most 2000 characters"));
    }
    if input.external_id.as_ref().is_some_and(|e| e.trim().is_empty() || e.chars().count() > 200) {
        errors.push(FieldError::new("external_id", "invalid", "1 to 200 characters"));
    }
    if errors.is_empty() { Ok(cur) } else { Err(Error::Invalid(errors)) }
}

/// Runs the pipeline on `input` (nothing is written). Refusals are a 422 listing every problem.
pub async fn evaluate(tx: &Transaction<'_>, ctx: &Context, input: &OrderInput) -> Result<Evaluation, Error> {
    let cur = check_input(input, ctx)?;
    let channel_code = ctx.channel.as_ref().map(|(code, _)| code.clone());
    let lookups: Vec<Lookup> = input
        .lines
        .iter()
        .map(|l| Lookup {
            sku: l.sku.clone(),
            channel: channel_code.clone(),
            product_id: l.product_id.clone(),
            variant_id: l.variant_id.clone(),
        })
        .collect();
    let resolved = resolve(tx, ctx.tenant, &lookups).await?;
    let mut holds = Vec::new();
    let mut errors = Vec::new();
    let customer = blank(&input.customer.email).map(customer_key);

    // Approval-gated products: only for a customer the tenant's system registered an approval for.
    for (i, r) in resolved.iter().enumerate() {
        if r.status != "resolved" || r.approval_gated != Some(true) {
            continue;
        }
        let approved = match (&customer, r.product_id) {
            (Some(c), Some(p)) => {
                crate::orders::store::approvals::approved(tx, ctx.tenant, c, p, ctx.at).await?
            }
            _ => false,
        };
        if !approved {
            errors.push(FieldError::new(
                format!("lines[{i}].sku"),
                "APPROVAL_REQUIRED",
                format!(
                    "{} needs a valid approval for this customer (POST /api/v1/approvals)",
                    r.platform_sku.clone().unwrap_or_default()
                ),
            ));
        }
    }

    let channel_priced = input.lines.iter().all(|l| l.unit_price.is_some());
    let mut lines = Vec::with_capacity(input.lines.len());
    let mut list_lines = Vec::new();
    for (i, (l, r)) in input.lines.iter().zip(&resolved).enumerate() {
        let known = r.status == "resolved";
        if !known {
            let what = blank(&l.sku).or(blank(&l.product_id)).unwrap_or("?");
            holds.push(Hold {
                kind: "unknown_sku".into(),
                line: Some(i),
                detail: format!("{what:?} does not map to a product this tenant sells ({})", r.status),
            });
        }
        let mut unit_price = l.unit_price.unwrap_or(0);
        if let (true, Some(product)) = (known, r.product_id) {
            let listed = price(tx, ctx.tenant, product, l.quantity, ctx.at, Some(&cur), None).await?;
            let sku = r.platform_sku.clone().unwrap_or_default();
            match (channel_priced, listed) {
                (true, Ok(p)) => {
                    let tolerance = ctx.channel.as_ref().map_or(0, |(_, bp)| i64::from(*bp));
                    let allowed = p.unit_price * tolerance / 10_000;
                    if (unit_price - p.unit_price).abs() > allowed {
                        holds.push(Hold {
                            kind: "price_mismatch".into(),
                            line: Some(i),
                            detail: format!(
                                "{sku} at {unit_price} differs from the tenant's price {} by more than {tolerance} bp",
                                p.unit_price
                            ),
                        });
                    }
                }
                (true, Err(no)) => holds.push(Hold {
                    kind: "price_mismatch".into(),
                    line: Some(i),
                    detail: no.field_error("", &sku, Some(&cur)).message,
                }),
                (false, Ok(p)) => {
                    unit_price = p.unit_price;
                    list_lines.push((i, p));
                }
                (false, Err(no)) => errors.push(no.field_error(&format!("lines[{i}].sku"), &sku, Some(&cur))),
            }
        }
        lines.push(EvaluatedLine {
            tenant_sku: blank(&l.sku).map(str::to_owned),
            channel_product_id: blank(&l.product_id).map(str::to_owned),
            channel_variant_id: blank(&l.variant_id).map(str::to_owned),
            name: l.name.clone().or_else(|| r.tenant_name.clone()).or_else(|| r.product_name.clone()),
            product_id: r.product_id.filter(|_| known),
            platform_sku: r.platform_sku.clone().filter(|_| known),
            quantity: l.quantity,
            unit_price,
            discount: l.discount.unwrap_or(0),
            tax: l.tax.unwrap_or(0),
            total: 0,
        });
    }

    // Amounts: a list-priced line costs its bands' subtotal (graduated bands are exact).
    for (i, p) in &list_lines {
        lines[*i].total = p.subtotal;
    }
    for l in lines.iter_mut().filter(|l| l.total == 0) {
        l.total = l.quantity * l.unit_price;
    }
    let subtotal: i64 = lines.iter().map(|l| l.total).sum();
    let (discount, pricing) = if channel_priced {
        let discount = input.discount.unwrap_or_else(|| lines.iter().map(|l| l.discount).sum());
        (discount, serde_json::json!({ "source": "channel" }))
    } else {
        let cart = Cart {
            currency: cur.clone(),
            at: ctx.at,
            customer: customer.clone(),
            lines: lines.iter().map(|l| CartLine { product_id: l.product_id, amount: l.total }).collect(),
        };
        let outcomes = promotions::evaluate(tx, ctx.tenant, &cart, &input.promotion_codes).await?;
        for (i, o) in outcomes.iter().enumerate().filter(|(_, o)| !o.applies) {
            errors.push(FieldError::new(
                format!("promotion_codes[{i}]"),
                o.reason.clone().unwrap_or_default(),
                format!("{}: {}", o.code, o.message.clone().unwrap_or_default()),
            ));
        }
        for o in outcomes.iter().filter(|o| o.applies) {
            for (line, d) in lines.iter_mut().zip(&o.line_discounts) {
                line.discount += d;
            }
        }
        let discount: i64 = outcomes.iter().filter(|o| o.applies).map(|o| o.discount).sum();
        let lists: Vec<serde_json::Value> = list_lines
            .iter()
            .map(|(i, p)| serde_json::json!({ "line": i, "price_list_id": p.price_list_id, "mode": p.mode, "bands": p.bands }))
            .collect();
        (discount, serde_json::json!({ "source": "price_list", "lines": lists, "promotions": outcomes }))
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let (shipping, tax, total) = settle(&mut lines, subtotal, discount, input);
    holds.extend(payment_hold(&input.payment));
    if let Some(why) = input.shipping_address.as_ref().and_then(crate::orders::model::zip_mismatch) {
        holds.push(Hold { kind: "address_mismatch".into(), line: None, detail: why });
    }
    let status = if holds.is_empty() {
        crate::orders::model::OrderStatus::Accepted
    } else {
        crate::orders::model::OrderStatus::NeedsReview
    };
    Ok(Evaluation { status, currency: cur, lines, subtotal, discount, shipping, tax, total, pricing, holds })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(serviceable: &[&str]) -> Context {
        Context {
            tenant: TenantId::new(),
            at: Utc::now(),
            channel: None,
            serviceable_states: serviceable.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn address(state: &str, country: &str) -> Address {
        Address {
            line1: Some("1 Main St".into()),
            city: Some("Louisville".into()),
            state: Some(state.into()),
            postal_code: Some("40202".into()),
            country: Some(country.into()),
            ..Default::default()
        }
    }

    fn order() -> OrderInput {
        OrderInput {
            currency: "usd".into(),
            shipping_address: Some(address("KY", "US")),
            lines: vec![crate::orders::LineInput {
                sku: Some("A-1".into()),
                quantity: 2,
                ..Default::default()
            }],
            payment: crate::orders::Payment { source: "terms".into(), ..Default::default() },
            ..Default::default()
        }
    }

    fn codes(r: Result<String, Error>) -> Vec<(String, String)> {
        match r {
            Err(Error::Invalid(errors)) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => unreachable!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_order_passes_with_its_currency_normalised() {
        assert_eq!(check_input(&order(), &ctx(&[])).ok(), Some("USD".into()));
    }

    #[test]
    fn every_problem_of_an_order_is_reported_at_once() {
        let mut o = order();
        o.currency = "dollars".into();
        o.lines.clear();
        o.shipping_address = None;
        o.payment = crate::orders::Payment { source: "cash".into(), ..Default::default() };
        o.notes = Some("n".repeat(2001));
        let got = codes(check_input(&o, &ctx(&[])));
        for want in [
            ("currency", "invalid"),
            ("lines", "invalid"),
            ("shipping_address", "required"),
            ("payment.source", "invalid"),
            ("notes", "too_long"),
        ] {
            assert!(got.iter().any(|(f, c)| f == want.0 && c == want.1), "{want:?} missing from {got:?}");
        }
    }

    #[test]
    fn a_card_number_as_payment_token_is_refused_and_a_token_is_needed() {
        let mut o = order();
        o.payment = crate::orders::Payment {
            source: "token".into(),
            token: Some("4111 1111 1111 1111".into()),
            ..Default::default()
        };
        assert!(codes(check_input(&o, &ctx(&[]))).iter().any(|(f, _)| f == "payment.token"));
        o.payment.token = None;
        assert!(
            codes(check_input(&o, &ctx(&[]))).iter().any(|(f, c)| f == "payment.token" && c == "required")
        );
        o.payment.token = Some("tok_abc".into());
        assert!(check_input(&o, &ctx(&[])).is_ok());
        // A stored payment method instead of a token; not both.
        o.payment.payment_method_id = Some(uuid::Uuid::nil());
        assert!(
            codes(check_input(&o, &ctx(&[])))
                .iter()
                .any(|(f, c)| f == "payment.payment_method_id" && c == "conflict")
        );
        o.payment.token = None;
        assert!(check_input(&o, &ctx(&[])).is_ok());
    }

    #[test]
    fn addresses_need_their_parts_and_a_served_destination() {
        let check = |a: &Address, serviceable: &[&str]| {
            let mut errors = Vec::new();
            let s: Vec<String> = serviceable.iter().map(|s| s.to_string()).collect();
            check_address(a, "shipping_address", &s, &mut errors);
            errors.into_iter().map(|e| (e.field, e.code)).collect::<Vec<_>>()
        };
        assert!(check(&address("KY", "US"), &["KY", "TN"]).is_empty());
        assert!(check(&address("ky", "us"), &["KY"]).is_empty(), "codes in any case");
        assert_eq!(
            check(&address("TX", "US"), &["KY"]),
            [("shipping_address.state".to_string(), "unserviceable_destination".to_string())]
        );
        assert_eq!(
            check(&address("ON", "CA"), &["KY"]),
            [("shipping_address.country".to_string(), "unserviceable_destination".to_string())]
        );
        assert!(check(&address("ON", "CA"), &[]).is_empty(), "no list: anywhere");
        let mut no_state = address("KY", "US");
        no_state.state = None;
        assert_eq!(check(&no_state, &[]), [("shipping_address.state".to_string(), "required".to_string())]);
        let empty = Address::default();
        let fields: Vec<String> = check(&empty, &[]).into_iter().map(|(f, _)| f).collect();
        for f in ["line1", "city", "postal_code", "country"] {
            assert!(fields.contains(&format!("shipping_address.{f}")), "{f} in {fields:?}");
        }
        assert_eq!(
            check(&address("KY", "USA"), &[]),
            [("shipping_address.country".to_string(), "invalid".to_string())]
        );
    }

    #[test]
    fn only_a_paid_or_authorized_channel_payment_is_secured() {
        let pay = |source: &str, status: Option<&str>| crate::orders::Payment {
            source: source.into(),
            status: status.map(Into::into),
            ..Default::default()
        };
        assert_eq!(payment_hold(&pay("external", Some("Paid"))), None);
        assert_eq!(payment_hold(&pay("external", Some("authorized"))), None);
        for s in [Some("pending"), Some("voided"), None] {
            assert_eq!(
                payment_hold(&pay("external", s)).map(|h| h.kind),
                Some("payment_unsecured".into()),
                "{s:?}"
            );
        }
        assert_eq!(payment_hold(&pay("terms", None)), None);
        assert_eq!(payment_hold(&pay("token", None)), None);
    }

    #[test]
    fn totals_take_the_channels_figures_or_add_up() {
        let line = |total: i64, discount: i64, tax: i64| EvaluatedLine {
            tenant_sku: None,
            channel_product_id: None,
            channel_variant_id: None,
            name: None,
            product_id: None,
            platform_sku: None,
            quantity: 1,
            unit_price: total,
            discount,
            tax,
            total,
        };
        let mut lines = vec![line(1000, 100, 80), line(500, 600, 0)];
        let (shipping, tax, total) = settle(&mut lines, 1500, 600, &order());
        assert_eq!(
            lines.iter().map(|l| l.total).collect::<Vec<_>>(),
            [980, 0],
            "a discount never makes a line negative"
        );
        assert_eq!((shipping, tax, total), (0, 80, 1500 - 600 + 80));
        let mut o = order();
        (o.shipping, o.tax, o.total) = (Some(799), Some(50), Some(12345));
        let mut lines = vec![line(1000, 0, 0)];
        assert_eq!(settle(&mut lines, 1000, 0, &o), (799, 50, 12345), "the channel's totals are kept");
    }

    #[test]
    fn card_numbers_are_told_from_tokens() {
        assert!(looks_like_card_number("4111 1111 1111 1111"));
        assert!(looks_like_card_number("4111-1111-1111-1111"));
        assert!(!looks_like_card_number("tok_1N3xY2"));
        assert!(!looks_like_card_number("123456"));
    }
}
