//! Address sanity: whether a US ZIP code belongs to the address's state, from the ZIP-prefix table
//! shipped with the crate (`shared/data/us-zip3.csv`).

use std::sync::LazyLock;

use super::Address;

/// (state, first prefix, last prefix), from the table.
static PREFIXES: LazyLock<Vec<(String, u16, u16)>> = LazyLock::new(|| {
    include_str!("../../../data/us-zip3.csv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split(',');
            let (state, first, last) = (f.next()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?);
            Some((state.to_owned(), first, last))
        })
        .collect()
});

/// The states a ZIP code's first three digits belong to (empty for a prefix no state has).
pub fn states_of_zip(zip: &str) -> Vec<&'static str> {
    let digits: String = zip.trim().chars().take(5).collect();
    let Some(prefix) = digits.get(..3).and_then(|p| p.parse::<u16>().ok()) else { return Vec::new() };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Vec::new();
    }
    PREFIXES.iter().filter(|(_, a, b)| (*a..=*b).contains(&prefix)).map(|(s, _, _)| s.as_str()).collect()
}

/// Why a US address's ZIP code does not fit its state, if it does not (`None` when it fits, or
/// when the address is not in the US or lacks either).
pub fn zip_mismatch(a: &Address) -> Option<String> {
    let country = a.country.as_deref().map(str::trim)?;
    if !country.eq_ignore_ascii_case("US") {
        return None;
    }
    let state = a.state.as_deref().map(str::trim).filter(|s| !s.is_empty())?.to_ascii_uppercase();
    let zip = a.postal_code.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    let states = states_of_zip(zip);
    if states.contains(&state.as_str()) {
        return None;
    }
    Some(match states.as_slice() {
        [] => format!("ZIP {zip} is not a US ZIP code (the address says {state})"),
        found => format!("ZIP {zip} belongs to {}, not {state}", found.join(" or ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(state: &str, zip: &str) -> Address {
        Address {
            state: Some(state.into()),
            postal_code: Some(zip.into()),
            country: Some("US".into()),
            ..Address::default()
        }
    }

    #[test]
    fn a_zip_fits_its_state_or_says_where_it_belongs() {
        assert_eq!(zip_mismatch(&us("TX", "78701")), None, "Austin");
        assert_eq!(zip_mismatch(&us("KY", "40202")), None, "Louisville");
        assert_eq!(zip_mismatch(&us("ca", "94103-1234")), None, "ZIP+4, any case");
        assert_eq!(zip_mismatch(&us("KY", "78701")).as_deref(), Some("ZIP 78701 belongs to TX, not KY"));
        assert!(zip_mismatch(&us("NY", "00000")).is_some_and(|m| m.contains("not a US ZIP")));
        assert!(zip_mismatch(&us("NY", "ABCDE")).is_some());
        let abroad = Address { country: Some("CA".into()), ..us("ON", "M5V 2T6") };
        assert_eq!(zip_mismatch(&abroad), None, "not a US address");
    }

    #[test]
    fn every_state_has_a_prefix() {
        for s in [
            "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
            "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
            "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
            "WV", "WI", "WY",
        ] {
            assert!(PREFIXES.iter().any(|(st, _, _)| st == s), "{s}");
        }
    }
}
