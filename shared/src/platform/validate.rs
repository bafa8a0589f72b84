//! The validators every context shares: each reads one raw field and pushes a [`FieldError`] naming
//! it when the value is refused, so a request's every problem is reported at once ([`check`]).

use crate::platform::error::{ApiError, FieldError};

/// Largest unit price (minor units): with at most 10^6 units a line and 500 lines an order, every
/// amount fits in 64 bits.
pub const MAX_UNIT_PRICE: i64 = 10_000_000_000;

/// Longest tenant SKU, alias or channel identifier accepted.
pub const MAX_IDENTIFIER: usize = 128;

/// An ISO 4217 code (three letters, any case in, uppercase out), or a field error.
pub fn currency(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> String {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(FieldError::new(field, "invalid", "a three-letter ISO 4217 currency code"));
    }
    code
}

/// Free text of 1 to `max` characters (trimmed), or a field error.
pub fn text(raw: &str, field: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max {
        errors.push(FieldError::new(field, "invalid", format!("1 to {max} characters")));
    }
    t.to_owned()
}

/// A tenant identifier (SKU, alias, channel product id): trimmed, 1 to 128 characters, no
/// control characters.
pub fn identifier(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> String {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_IDENTIFIER || t.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("1 to {MAX_IDENTIFIER} characters, no control characters"),
        ));
    }
    t.to_owned()
}

/// Whether `s` is a code name (a channel, a customer tier): 1-63 of a-z, 0-9, `_` and `-`,
/// starting with a letter or digit — what the tables' CHECKs accept.
pub fn code_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || *x == b'_' || *x == b'-')
}

/// Fails with the collected field errors, if any.
pub fn check(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

/// Optional longer text (a description): trimmed, at most `max` characters, or a field error.
pub fn long_text(raw: Option<&str>, field: &str, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    let t = raw.map(|d| d.trim().to_owned());
    if t.as_ref().is_some_and(|d| d.chars().count() > max) {
        errors.push(FieldError::new(field, "too_long", format!("at most {max} characters")));
    }
    t
}
