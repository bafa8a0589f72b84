//! A Shopify REST order (the `orders/*` webhook body) read into an intake order.

use serde_json::Value;

use crate::orders::model::{Amounts, full_name, id_text, text};
use crate::orders::{Address, Customer, LineInput, OrderInput, Payment};
use crate::platform::error::FieldError;

fn address(a: &Value) -> Option<Address> {
    a.is_object().then(|| Address {
        name: text(&a["name"]),
        company: text(&a["company"]),
        line1: text(&a["address1"]),
        line2: text(&a["address2"]),
        city: text(&a["city"]),
        state: text(&a["province_code"]),
        postal_code: text(&a["zip"]),
        country: text(&a["country_code"]),
        phone: text(&a["phone"]),
    })
}

fn line(l: &Value, i: usize, r: &mut Amounts) -> LineInput {
    LineInput {
        sku: text(&l["sku"]),
        product_id: id_text(&l["product_id"]),
        variant_id: id_text(&l["variant_id"]),
        name: text(&l["title"]).or_else(|| text(&l["name"])),
        quantity: l["quantity"].as_i64().unwrap_or(0),
        unit_price: r.read(&l["price"], &format!("line_items[{i}].price")),
        discount: r.read(&l["total_discount"], &format!("line_items[{i}].total_discount")),
        tax: Some(Amounts::sum(&l["tax_lines"])),
    }
}

/// The order, or every amount that is not one (and a missing order id).
pub fn order(o: &Value) -> Result<OrderInput, Vec<FieldError>> {
    let mut r = Amounts::default();
    let external_id = id_text(&o["id"]);
    if external_id.is_none() {
        r.errors.push(FieldError::new("id", "required", "the Shopify order id"));
    }
    let items = o["line_items"].as_array().map(Vec::as_slice).unwrap_or_default();
    let lines = items.iter().enumerate().map(|(i, l)| line(l, i, &mut r)).collect();
    let customer = &o["customer"];
    let input = OrderInput {
        external_id,
        currency: text(&o["currency"]).unwrap_or_default(),
        customer: Customer {
            email: text(&o["email"]).or_else(|| text(&o["contact_email"])),
            name: full_name(&customer["first_name"], &customer["last_name"]),
            phone: text(&o["phone"]),
        },
        shipping_address: address(&o["shipping_address"]),
        billing_address: address(&o["billing_address"]),
        lines,
        shipping: Some(Amounts::sum(&o["shipping_lines"])),
        tax: r.read(&o["total_tax"], "total_tax"),
        discount: r.read(&o["total_discounts"], "total_discounts"),
        total: r.read(&o["total_price"], "total_price"),
        payment: Payment {
            source: "external".into(),
            token: None,
            payment_method_id: None,
            status: text(&o["financial_status"]).or_else(|| Some("pending".into())),
            reference: text(&o["name"]).map(|n| format!("shopify {n}")),
        },
        promotion_codes: Vec::new(),
        notes: text(&o["note"]),
    };
    r.finish(input)
}
