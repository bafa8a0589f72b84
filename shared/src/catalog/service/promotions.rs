//! The rules of promotions over the database: load what evaluation needs and evaluate, build a
//! cart from SKUs, create and change promotions, redeem once per order.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::mappings::resolve;
use crate::catalog::model::{
    Cart, CartInput, CartLine, Error, Lookup, MAX_TARGETS, Outcome, Promotion, Redeemed, Redemption, Terms,
    Writer, check, customer_key, evaluate_codes, lowered, refused_codes, replay,
};
use crate::catalog::store::products;
use crate::catalog::store::promotions::{self as store, NewRedemption};
use crate::platform::error::FieldError;
use crate::platform::tenant::TenantId;

/// Checks each code against the cart, in order (see [`evaluate_codes`]). The transaction must be
/// scoped to `tenant`; to redeem, lock the promotions first.
pub async fn evaluate(
    tx: &Transaction<'_>,
    tenant: TenantId,
    cart: &Cart,
    codes: &[String],
) -> Result<Vec<Outcome>, Error> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let promos = store::by_codes(tx, tenant, &lowered(codes)).await?;
    let used = match &cart.customer {
        Some(customer) => {
            let ids: Vec<Uuid> = promos.values().map(|p| p.id).collect();
            store::customer_uses(tx, tenant, &ids, customer).await?
        }
        None => HashMap::new(),
    };
    Ok(evaluate_codes(&promos, &used, cart, codes))
}

/// The cart a request describes: each line's SKU resolved (as `channel` sends it), its amount
/// quantity × unit price.
pub async fn cart_of(
    tx: &Transaction<'_>,
    tenant: TenantId,
    now: DateTime<Utc>,
    input: &CartInput,
    currency: String,
) -> Result<Cart, Error> {
    let lookups: Vec<Lookup> = input
        .lines
        .iter()
        .map(|l| Lookup { sku: Some(l.sku.clone()), channel: input.channel.clone(), ..Lookup::default() })
        .collect();
    let resolved = resolve(tx, tenant, &lookups).await?;
    Ok(Cart {
        currency,
        at: input.at.unwrap_or(now),
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

/// Product ids for platform SKUs the tenant can sell; a refusal names each unknown one.
pub async fn target_products(tx: &Transaction<'_>, skus: &[String]) -> Result<Vec<Uuid>, Error> {
    if skus.len() > MAX_TARGETS {
        return Err(Error::field("platform_skus", "invalid", "at most 200"));
    }
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for (i, sku) in skus.iter().enumerate() {
        match products::sellable(tx, sku).await? {
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

/// Creates a promotion with checked terms.
pub async fn create(tx: &Transaction<'_>, by: Writer, code: &str, t: &Terms) -> Result<Promotion, Error> {
    let products = target_products(tx, &t.platform_skus).await?;
    let id = Uuid::now_v7();
    store::insert(tx, by, id, code, t, &products).await?;
    store::load(tx, id, false).await
}

/// Changes a promotion's terms: `merge` makes the new terms from the current promotion; they are
/// checked whole, and a usage limit cannot go below the redemptions made. The targeted products
/// are re-resolved only when `skus` are given. Returns before and after.
pub async fn update(
    tx: &Transaction<'_>,
    by: Writer,
    id: Uuid,
    skus: Option<&[String]>,
    merge: impl FnOnce(&Promotion) -> Terms,
) -> Result<(Promotion, Promotion), Error> {
    let before = store::load(tx, id, true).await?;
    let mut t = merge(&before);
    let mut errors = Vec::new();
    t.check(&mut errors);
    if t.usage_limit.is_some_and(|l| l < before.redemption_count) {
        errors.push(FieldError::new(
            "usage_limit",
            "below_redemptions",
            format!("{} redemptions were already made", before.redemption_count),
        ));
    }
    check(errors)?;
    // Re-resolved only when given: a product withdrawn since stays targeted (never "every line").
    let products = match skus {
        Some(skus) => target_products(tx, skus).await?,
        None => store::product_ids(tx, id).await?,
    };
    store::update(tx, id, &t, &products, by.now).await?;
    let after = store::load(tx, id, false).await?;
    Ok((before, after))
}

/// Uses the codes on an order: all of them apply, or none is used (each refusal named). Once per
/// order: the same order again replays its first redemptions, counting nothing.
pub async fn redeem(
    tx: &Transaction<'_>,
    by: Writer,
    order_ref: String,
    input: &CartInput,
    currency: String,
) -> Result<Redeemed, Error> {
    // Lock, then look for this order's earlier redemption: a retry finds it here.
    store::lock_for_redemption(tx, by.tenant, &order_ref, &lowered(&input.codes)).await?;
    let earlier = store::order_redemptions(tx, by.tenant, &order_ref).await?;
    if !earlier.is_empty() {
        return replay(order_ref, earlier, &input.codes);
    }
    let cart = cart_of(tx, by.tenant, by.now, input, currency).await?;
    let outcomes = evaluate(tx, by.tenant, &cart, &input.codes).await?;
    check(refused_codes(&outcomes, "cart.codes"))?;
    let mut redemptions = Vec::new();
    for o in &outcomes {
        let r = NewRedemption {
            promotion: o.promotion_id.unwrap_or_default(),
            order_ref: &order_ref,
            customer: cart.customer.as_deref(),
            discount: o.discount,
            currency: &cart.currency,
        };
        redemptions.push(store::redeem(tx, by, r).await?);
    }
    Ok(Redeemed::of(order_ref, false, redemptions))
}

/// Counts the promotions an order's intake applied (`applied`: promotion and discount) as that
/// order's redemptions, in promotion order (concurrent intakes cannot deadlock).
pub async fn redeem_applied(
    tx: &Transaction<'_>,
    tenant: TenantId,
    order_ref: &str,
    customer: Option<&str>,
    currency: &str,
    applied: &[(Uuid, i64)],
    now: DateTime<Utc>,
) -> Result<Vec<Redemption>, Error> {
    let mut applied = applied.to_vec();
    applied.sort();
    let by = Writer { tenant, user: Uuid::nil(), now };
    let mut made = Vec::with_capacity(applied.len());
    for (promotion, discount) in applied {
        let r = NewRedemption { promotion, order_ref, customer, discount, currency };
        made.push(store::redeem(tx, by, r).await?);
    }
    Ok(made)
}

/// Gives back the uses an order holds (it was cancelled); nothing the second time.
pub async fn release_redemptions(
    tx: &Transaction<'_>,
    tenant: TenantId,
    order_ref: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Redemption>, Error> {
    store::release(tx, tenant, order_ref, now).await
}
