//! A WooCommerce REST order (the `order.*` webhook body) read into an intake order.

use serde_json::Value;

use crate::orders::model::{Amounts, full_name, id_text, text};
use crate::orders::{Address, Customer, LineInput, OrderInput, Payment};
use crate::platform::error::FieldError;

fn address(a: &Value) -> Option<Address> {
    a.is_object().then(|| Address {
        name: full_name(&a["first_name"], &a["last_name"]),
        company: text(&a["company"]),
        line1: text(&a["address_1"]),
        line2: text(&a["address_2"]),
        city: text(&a["city"]),
        state: text(&a["state"]),
        postal_code: text(&a["postcode"]),
        country: text(&a["country"]),
        phone: text(&a["phone"]),
    })
}

fn line(l: &Value, i: usize, r: &mut Amounts) -> LineInput {
    // `price` is the discounted line total over the quantity (a float): the unit price comes from
    // the subtotal instead, and the discount is what the coupons took off.
    let subtotal = r.read(&l["subtotal"], &format!("line_items[{i}].subtotal")).unwrap_or(0);
    let total = r.read(&l["total"], &format!("line_items[{i}].total")).unwrap_or(0);
    let quantity = l["quantity"].as_i64().unwrap_or(0);
    LineInput {
        sku: text(&l["sku"]),
        product_id: id_text(&l["product_id"]),
        variant_id: id_text(&l["variation_id"]).filter(|v| v != "0"),
        name: text(&l["name"]),
        quantity,
        unit_price: Some(if quantity > 0 { subtotal / quantity } else { subtotal }),
        discount: Some((subtotal - total).max(0)),
        tax: r.read(&l["total_tax"], &format!("line_items[{i}].total_tax")),
    }
}

/// WooCommerce's order status as a payment status: processing and completed orders are paid;
/// on-hold and pending are not yet.
fn payment_status(status: &str) -> &str {
    match status {
        "processing" | "completed" => "paid",
        "on-hold" | "pending" => "pending",
        "cancelled" => "voided",
        "refunded" => "refunded",
        "failed" => "failed",
        other => other,
    }
}

/// The order, or every amount that is not one (and a missing order id).
pub fn order(o: &Value) -> Result<OrderInput, Vec<FieldError>> {
    let mut r = Amounts::default();
    let external_id = id_text(&o["id"]);
    if external_id.is_none() {
        r.errors.push(FieldError::new("id", "required", "the WooCommerce order id"));
    }
    let items = o["line_items"].as_array().map(Vec::as_slice).unwrap_or_default();
    let lines = items.iter().enumerate().map(|(i, l)| line(l, i, &mut r)).collect();
    let billing = address(&o["billing"]);
    let input = OrderInput {
        external_id,
        currency: text(&o["currency"]).unwrap_or_default(),
        customer: Customer {
            email: text(&o["billing"]["email"]),
            name: billing.as_ref().and_then(|a| a.name.clone()),
            phone: text(&o["billing"]["phone"]),
        },
        shipping_address: address(&o["shipping"]),
        billing_address: billing.map(|a| Address { phone: None, ..a }),
        lines,
        shipping: r.read(&o["shipping_total"], "shipping_total"),
        tax: r.read(&o["total_tax"], "total_tax"),
        discount: r.read(&o["discount_total"], "discount_total"),
        total: r.read(&o["total"], "total"),
        payment: Payment {
            source: "external".into(),
            token: None,
            payment_method_id: None,
            status: Some(payment_status(o["status"].as_str().unwrap_or("")).to_owned()),
            reference: text(&o["transaction_id"]).or_else(|| text(&o["payment_method"])),
        },
        promotion_codes: Vec::new(),
        notes: text(&o["customer_note"]),
    };
    r.finish(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn woocommerce_statuses_become_payment_statuses() {
        assert_eq!(payment_status("processing"), "paid");
        assert_eq!(payment_status("completed"), "paid");
        assert_eq!(payment_status("on-hold"), "pending");
        assert_eq!(payment_status("cancelled"), "voided");
        assert_eq!(payment_status("draft"), "draft");
    }
}
