//! The rules of pricing over the database: the price of a line, quotes, and price list changes.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::mappings::resolve;
use super::promotions::evaluate;
use super::require_sellable;
use crate::catalog::model::{
    Break, Cart, CartLine, Error, LinePrice, ListFields, Lookup, NoPrice, PriceList, ProductPrices, Quote,
    QuoteRequest, QuotedLine, Writer, check, choose_list, customer_key, line_price,
};
use crate::catalog::store::pricing as store;
use crate::platform::error::FieldError;
use crate::platform::tenant::TenantId;

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
) -> Result<Result<LinePrice, NoPrice>, Error> {
    let lists = store::candidates(tx, tenant, product, at, tier).await?;
    let list = match choose_list(&lists, currency) {
        Ok(list) => list,
        Err(no) => return Ok(Err(no)),
    };
    let breaks = store::breaks(tx, list.id, product).await?;
    Ok(line_price(list, &breaks, quantity))
}

/// Prices a checked quote request at `at`: each line resolved and priced (in the currency asked
/// for, else that of the first line's list), then the promotion codes evaluated on the result.
pub async fn quote(
    tx: &Transaction<'_>,
    tenant: TenantId,
    req: &QuoteRequest,
    asked: Option<String>,
    at: DateTime<Utc>,
) -> Result<Quote, Error> {
    let (currency, lines) = price_lines(tx, tenant, req, asked, at).await?;
    let cart = Cart {
        currency: currency.clone(),
        at,
        customer: req.customer_email.as_deref().map(customer_key),
        lines: lines.iter().map(|l| CartLine { product_id: Some(l.product_id), amount: l.total }).collect(),
    };
    let outcomes = evaluate(tx, tenant, &cart, &req.promotion_codes).await?;
    Ok(Quote::of(currency, at, lines, outcomes))
}

/// Each quote line resolved and priced; every line that cannot be is named.
async fn price_lines(
    tx: &Transaction<'_>,
    tenant: TenantId,
    req: &QuoteRequest,
    asked: Option<String>,
    at: DateTime<Utc>,
) -> Result<(String, Vec<QuotedLine>), Error> {
    let lookups: Vec<Lookup> = req
        .lines
        .iter()
        .map(|l| Lookup { sku: Some(l.sku.clone()), channel: req.channel.clone(), ..Lookup::default() })
        .collect();
    let resolved = resolve(tx, tenant, &lookups).await?;
    let mut errors = Vec::new();
    let mut currency_in = asked;
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
        match price(tx, tenant, product, line.quantity, at, currency_in.as_deref(), tier).await? {
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
    Ok((currency_in.unwrap_or_default(), lines))
}

/// Creates a price list with checked fields.
pub async fn create(
    tx: &Transaction<'_>,
    by: Writer,
    currency: &str,
    f: &ListFields,
) -> Result<PriceList, Error> {
    let id = Uuid::now_v7();
    store::insert(tx, by, id, currency, f).await?;
    store::load(tx, id, false).await
}

/// Changes a price list: `merge` makes the new fields from the current list (and checks them).
/// Returns before and after.
pub async fn update(
    tx: &Transaction<'_>,
    by: Writer,
    id: Uuid,
    merge: impl FnOnce(&PriceList) -> Result<ListFields, Error>,
) -> Result<(PriceList, PriceList), Error> {
    let before = store::load(tx, id, true).await?;
    let fields = merge(&before)?;
    store::update(tx, id, &fields, by.now).await?;
    let after = store::load(tx, id, false).await?;
    Ok((before, after))
}

/// Replaces one product's checked breaks on a list. Returns the breaks it had (as (min quantity,
/// price)) and those it has now.
pub async fn set_prices(
    tx: &Transaction<'_>,
    by: Writer,
    id: Uuid,
    sku: &str,
    breaks: Vec<Break>,
) -> Result<(Vec<(i64, i64)>, ProductPrices), Error> {
    store::load(tx, id, true).await?;
    let (product, platform_sku) = require_sellable(tx, sku, "path:sku").await?;
    let before = store::replace_prices(tx, by.tenant, id, product, &breaks).await?;
    store::touch(tx, id, by.now).await?;
    Ok((before, ProductPrices { product_id: product, platform_sku, breaks }))
}

/// Takes a product off a list; not found when it is not on it.
pub async fn remove_prices(tx: &Transaction<'_>, by: Writer, id: Uuid, sku: &str) -> Result<(), Error> {
    store::load(tx, id, true).await?;
    if store::remove_prices(tx, id, sku).await? == 0 {
        return Err(Error::NotFound(format!("{sku} on price list {id}")));
    }
    store::touch(tx, id, by.now).await
}
