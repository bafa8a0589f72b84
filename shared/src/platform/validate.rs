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

// ---------------------------------------------------------------------------------------------
// Card numbers: they never enter the system.

/// Field names exempt from the card-number check by name: identifiers (about one long identifier in
/// ten passes Luhn by chance; with every name ending in `_id`, `Id` or `_ids`) and passwords.
const IDENTIFIER_FIELDS: &[&str] = &[
    "id",
    "identifier",
    "sku",
    "skus",
    "platform_sku",
    "platform_skus",
    "tenant_sku",
    "externalId",
    "tracking_number",
    "tracking_numbers",
    "idempotency_key",
    // Secrets a person types are hashed, never kept as written: a password may hold any digits.
    "password",
    "new_password",
    // Secrets the gateway made and handed out (random: one in a few hundred holds a run of digits
    // that passes Luhn).
    "refresh_token",
    "challenge_token",
];

/// Whether a field of this name holds an identifier (exempt from the card-number check).
pub fn is_identifier_field(name: &str) -> bool {
    IDENTIFIER_FIELDS.contains(&name)
        || name.ends_with("_id")
        || name.ends_with("Id")
        || name.ends_with("_ids")
}

/// Field names that hold a card security code (CVV, CVC, CSC): refused whatever their value.
const SECURITY_CODE_FIELDS: &[&str] =
    &["cvv", "cvv2", "cvc", "cvc2", "csc", "card_code", "cardcode", "security_code", "securitycode"];

fn is_security_code_field(name: &str) -> bool {
    SECURITY_CODE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// What a masked field held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secret {
    CardNumber,
    SecurityCode,
}

/// The fields of a JSON body holding a card number or a card security code (paths as the body
/// spells them), identifier fields apart: each refused (`card_number_refused`,
/// `card_security_code_refused`), the value never echoed.
pub fn card_number_fields(v: &serde_json::Value) -> Vec<FieldError> {
    let mut found = Vec::new();
    mask_walk(&mut v.clone(), String::new(), &mut found);
    found
        .into_iter()
        .map(|(path, what)| match what {
            Secret::CardNumber => FieldError::new(
                path,
                "card_number_refused",
                "a card number is never accepted here (the value is not echoed); send a payment token",
            ),
            Secret::SecurityCode => FieldError::new(
                path,
                "card_security_code_refused",
                "a card security code (CVV) is never accepted, in any field (the value is not echoed)",
            ),
        })
        .collect()
}

/// Masks every card number in the text fields of `v` (identifier fields apart) to its last four
/// digits, and every card security code (a field so named, or one written in text) to
/// asterisks; the paths masked.
pub fn mask_card_number_fields(v: &mut serde_json::Value) -> Vec<String> {
    let mut masked = Vec::new();
    mask_walk(v, String::new(), &mut masked);
    masked.into_iter().map(|(path, _)| path).collect()
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn mask_walk(v: &mut serde_json::Value, path: String, masked: &mut Vec<(String, Secret)>) {
    match v {
        serde_json::Value::String(s) => {
            if !card_numbers(s).is_empty() {
                *s = mask_card_numbers(s);
                masked.push((path.clone(), Secret::CardNumber));
            }
            if !security_codes(s).is_empty() {
                *s = mask_security_codes(s);
                masked.push((path, Secret::SecurityCode));
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                mask_walk(item, format!("{path}[{i}]"), masked);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, item) in o.iter_mut() {
                if is_security_code_field(k) {
                    if !item.is_null() {
                        *item = serde_json::Value::String("***".into());
                        masked.push((child(&path, k), Secret::SecurityCode));
                    }
                } else if !is_identifier_field(k) {
                    mask_walk(item, child(&path, k), masked);
                }
            }
        }
        _ => {}
    }
}

/// Words that name a card security code in text ("CVV 123", "cvc: 1234", "security code 987").
const SECURITY_CODE_WORDS: &[&str] = &["cvv2", "cvc2", "cvv", "cvc", "security code", "card code", "csc"];

/// The byte ranges in `text` of card security codes written after their name: 3 or 4 digits
/// within a few separators (spaces, `:`, `=`, `#`, `-`, quotes) after one of
/// [`SECURITY_CODE_WORDS`], as a word of their own.
pub fn security_codes(text: &str) -> Vec<std::ops::Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut found: Vec<std::ops::Range<usize>> = Vec::new();
    for word in SECURITY_CODE_WORDS {
        let mut from = 0;
        while let Some(at) = lower[from..].find(word) {
            let start = from + at;
            from = start + word.len();
            if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            let mut i = from;
            while i < bytes.len()
                && i - from < 6
                && matches!(bytes[i], b' ' | b':' | b'=' | b'#' | b'-' | b'"' | b'\'')
            {
                i += 1;
            }
            let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            let ends = bytes.get(i + digits).is_none_or(|b| !b.is_ascii_alphanumeric());
            if (3..=4).contains(&digits) && ends && !found.iter().any(|r| r.start == i) {
                found.push(i..i + digits);
            }
        }
    }
    found.sort_by_key(|r| r.start);
    found
}

/// `text` with every card security code written in it replaced by asterisks.
pub fn mask_security_codes(text: &str) -> String {
    let mut out = text.to_owned();
    for r in security_codes(text).into_iter().rev() {
        out.replace_range(r.clone(), &"*".repeat(r.len()));
    }
    out
}

/// Whether `digits` (13 to 19 of them) start in a card network's number range.
fn card_range(digits: &[u8]) -> bool {
    let n = |k: usize| digits[..k].iter().fold(0u32, |a, d| a * 10 + u32::from(*d));
    let len = digits.len();
    match digits[0] {
        4 => matches!(len, 13 | 16 | 19),                               // Visa
        5 => (51..=55).contains(&n(2)) || matches!(n(2), 50 | 56..=59), // Mastercard, Maestro
        2 => (2221..=2720).contains(&n(4)),                             // Mastercard 2-series
        3 => {
            matches!(n(2), 34 | 37 | 36 | 38 | 39)
                || (300..=305).contains(&n(3))
                || (3528..=3589).contains(&n(4))
        }
        6 => {
            n(4) == 6011 || n(2) == 65 || (644..=649).contains(&n(3)) || n(2) == 62 || matches!(n(2), 60..=69)
        }
        _ => false,
    }
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum % 10 == 0
}

/// The byte ranges in `text` that are card numbers: runs of 13 to 19 digits (single spaces or
/// dashes between them allowed) in a card network's range that pass Luhn.
pub fn card_numbers(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let (start, mut digits, mut j) = (i, Vec::new(), i);
        while j < bytes.len() {
            if bytes[j].is_ascii_digit() {
                digits.push(bytes[j] - b'0');
                j += 1;
            } else if matches!(bytes[j], b' ' | b'-') && bytes.get(j + 1).is_some_and(u8::is_ascii_digit) {
                j += 1;
            } else {
                break;
            }
        }
        if (13..=19).contains(&digits.len()) && card_range(&digits) && luhn(&digits) {
            found.push(start..j);
        }
        i = j;
    }
    found
}

/// `text` with each card number in it masked to its last four digits.
pub fn mask_card_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in card_numbers(text) {
        out.push_str(&text[last..r.start]);
        let digits: String = text[r.clone()].chars().filter(char::is_ascii_digit).collect();
        out.push_str(&format!("****{}", &digits[digits.len() - 4..]));
        last = r.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_codes_are_refused_by_field_name_and_in_text_and_never_echoed() {
        for text in
            ["CVV 737", "cvc: 1234", "my cvv2=7391 thanks", "Security code - 123", "card code \"482\""]
        {
            assert_eq!(security_codes(text).len(), 1, "{text}");
            let masked = mask_security_codes(text);
            assert!(security_codes(&masked).is_empty() && masked.contains("***"), "{masked}");
        }
        for text in ["cvv", "order 12345", "CVV 12", "cvv 12345", "discovery 123", "cvv is 123"] {
            assert!(security_codes(text).is_empty(), "{text}");
        }
        let body = serde_json::json!({"payment": {"cvv": "737", "token": "tok"}, "notes": "CVV 7391", "card_code": null});
        let errors = card_number_fields(&body);
        let mut fields: Vec<(&str, &str)> =
            errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        fields.sort();
        assert_eq!(
            fields,
            [("notes", "card_security_code_refused"), ("payment.cvv", "card_security_code_refused")]
        );
        assert!(!serde_json::to_string(&errors).unwrap().contains("737"));
        let mut masked = body.clone();
        let mut paths = mask_card_number_fields(&mut masked);
        paths.sort();
        assert_eq!(paths, ["notes", "payment.cvv"]);
        assert!(!masked.to_string().contains("737"), "{masked}");
    }

    #[test]
    fn card_numbers_are_found_in_text_with_spaces_or_dashes_and_masked_to_their_last_four() {
        for pan in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "5555-5555-5555-4444",
            "378282246310005",
            "6011111111111117",
            "2223003122003222",
        ] {
            assert_eq!(card_numbers(pan).len(), 1, "{pan}");
            assert_eq!(card_numbers(&format!("call me re card {pan} today")).len(), 1, "{pan} in text");
        }
        assert_eq!(mask_card_numbers("card 4111 1111 1111 1111, thanks"), "card ****1111, thanks");
        // Not card numbers: fails Luhn, too short, outside the networks' ranges, a phone number.
        for text in
            ["4111111111111112", "411111111111", "9111111111111111111", "+1 502 555 0100", "ORDER-12345"]
        {
            assert!(card_numbers(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn identifier_fields_are_exempt_by_name_and_the_rest_is_checked() {
        let body = serde_json::json!({"notes": "4111111111111111", "sku": "4111111111111111",
            "lines": [{"name": "x 5555555555554444", "product_id": "4111111111111111"}], "qty": 4111111111111111u64,
            "password": "pin 4111111111111111"});
        let fields: Vec<String> = card_number_fields(&body).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["lines[0].name", "notes"]);
        let mut v = body.clone();
        assert_eq!(mask_card_number_fields(&mut v), ["lines[0].name", "notes"]);
        assert_eq!(v["notes"], "****1111");
        assert_eq!(v["sku"], "4111111111111111");
    }
}
