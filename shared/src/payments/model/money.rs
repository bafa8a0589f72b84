//! Money on the wire: the gateway keeps integer minor units; both providers take and answer
//! decimal strings in major units ("10.00"). One function formats, one parses; nothing else
//! converts.

use super::Error;
use crate::FieldError;

/// The largest amount a payment may carry (minor units): $10,000,000.00.
pub const MAX_AMOUNT: i64 = 1_000_000_000;

/// Decimal places of a currency's minor unit (ISO 4217): 0 for the yen family, 3 for the dinars,
/// 2 otherwise.
pub fn exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// An amount to charge: positive minor units of a three-letter currency, within [`MAX_AMOUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    minor: i64,
    currency: [u8; 3],
}

impl Money {
    pub fn new(minor: i64, currency: &str) -> Result<Self, Error> {
        let mut errors = Vec::new();
        if !(1..=MAX_AMOUNT).contains(&minor) {
            errors.push(FieldError::new("amount", "out_of_range", format!("1 to {MAX_AMOUNT} minor units")));
        }
        let code: [u8; 3] = match currency.as_bytes().try_into() {
            Ok(c) if currency.bytes().all(|b| b.is_ascii_uppercase()) => c,
            _ => {
                errors.push(FieldError::new("currency", "invalid", "an ISO 4217 code such as USD"));
                *b"XXX"
            }
        };
        if errors.is_empty() { Ok(Self { minor, currency: code }) } else { Err(Error::Invalid(errors)) }
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> &str {
        std::str::from_utf8(&self.currency).unwrap_or("XXX")
    }

    /// The providers' spelling: major units with the currency's decimal places ("10.00").
    pub fn decimal(&self) -> String {
        decimal(self.minor, self.currency())
    }
}

/// `minor` minor units of `currency` as a decimal string in major units.
pub fn decimal(minor: i64, currency: &str) -> String {
    let places = exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if places == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(places);
    format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = places as usize)
}

/// A provider's decimal string as minor units of `currency`: digits, at most the currency's
/// decimal places (fewer are padded), no sign, no exponent. `None` for anything else.
pub fn minor_units(text: &str, currency: &str) -> Option<i64> {
    let places = exponent(currency) as usize;
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || !digits(whole) || !digits(fraction) || fraction.len() > places
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<places$}").parse().ok()? };
    whole.checked_mul(10i64.pow(places as u32))?.checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_in_the_currencys_major_units() {
        assert_eq!(decimal(1000, "USD"), "10.00");
        assert_eq!(decimal(5, "USD"), "0.05");
        assert_eq!(decimal(99, "USD"), "0.99");
        assert_eq!(decimal(1_000_000_000, "USD"), "10000000.00");
        assert_eq!(decimal(500, "JPY"), "500");
        assert_eq!(decimal(1234, "KWD"), "1.234");
        assert_eq!(decimal(-250, "USD"), "-2.50");
        assert_eq!(Money::new(19_900, "USD").unwrap().decimal(), "199.00");
    }

    #[test]
    fn provider_amounts_read_back_exactly() {
        assert_eq!(minor_units("10.00", "USD"), Some(1000));
        assert_eq!(minor_units("10.5", "USD"), Some(1050));
        assert_eq!(minor_units("10", "USD"), Some(1000));
        assert_eq!(minor_units("0.01", "USD"), Some(1));
        assert_eq!(minor_units("500", "JPY"), Some(500));
        assert_eq!(minor_units("1.234", "KWD"), Some(1234));
        for bad in ["", "1.001", "-1.00", "1e3", "1,00", ".50", "abc", "9999999999999.00"] {
            assert_eq!(minor_units(bad, "USD"), None, "{bad:?}");
        }
        for minor in [1, 99, 100, 12_345, MAX_AMOUNT] {
            assert_eq!(minor_units(&decimal(minor, "USD"), "USD"), Some(minor));
        }
    }

    #[test]
    fn an_amount_is_positive_bounded_and_in_a_currency() {
        assert!(Money::new(0, "USD").is_err());
        assert!(Money::new(-1, "USD").is_err());
        assert!(Money::new(MAX_AMOUNT + 1, "USD").is_err());
        assert!(Money::new(100, "usd").is_err());
        assert!(Money::new(100, "US").is_err());
        let Err(Error::Invalid(errors)) = Money::new(0, "us") else { panic!() };
        assert_eq!(errors.len(), 2, "every problem at once");
    }
}
