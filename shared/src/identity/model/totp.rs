//! TOTP (RFC 6238 over RFC 4226 HOTP): 30-second steps, 6 digits, a window of ±1 step, and replay
//! refusal by remembering the newest step accepted. Base32 (RFC 4648, no padding) for secrets in
//! `otpauth://` URIs.

use aws_lc_rs::hmac;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps either side of now that are accepted (clock drift).
pub const WINDOW: i64 = 1;

/// The HMAC of a TOTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

/// HOTP value of `counter` with `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32, alg: Algorithm) -> u32 {
    let algorithm = match alg {
        Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        Algorithm::Sha256 => hmac::HMAC_SHA256,
        Algorithm::Sha512 => hmac::HMAC_SHA512,
    };
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let code = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    code % 10u32.pow(digits)
}

/// The step a unix time falls in.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The 6-digit code for `step`, zero-padded.
pub fn code(secret: &[u8], step: i64) -> String {
    format!("{:0width$}", hotp(secret, step.max(0) as u64, DIGITS, Algorithm::Sha1), width = DIGITS as usize)
}

/// The step `candidate` matches within ±[`WINDOW`] of `now_step`, newer than `last_used` (a code is
/// never accepted twice). Compares in constant time per candidate.
pub fn verify(secret: &[u8], candidate: &str, now_step: i64, last_used: Option<i64>) -> Option<i64> {
    let candidate = candidate.trim();
    if candidate.len() != DIGITS as usize || !candidate.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut found = None;
    for step in (now_step - WINDOW)..=(now_step + WINDOW) {
        let expected = code(secret, step);
        let same = expected.bytes().zip(candidate.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same && last_used.is_none_or(|l| step > l) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(ALPHABET[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes [`base32`] (case-insensitive, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=' && *c != b' ') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push(((buffer >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_matches_rfc4648() {
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base32_decode("MZXW6YTB0I"), None, "0 is not in the alphabet");
    }

    #[test]
    fn a_code_is_accepted_within_one_step_and_never_twice() {
        let secret = b"12345678901234567890";
        let now = step_of(1_800_000_000);
        let c = code(secret, now);
        assert_eq!(verify(secret, &c, now, None), Some(now));
        assert_eq!(verify(secret, &c, now, Some(now)), None, "replayed");
        assert_eq!(verify(secret, &code(secret, now - 1), now, None), Some(now - 1), "one step late");
        assert_eq!(verify(secret, &code(secret, now + 1), now, None), Some(now + 1), "one step early");
        assert_eq!(verify(secret, &code(secret, now - 2), now, None), None, "two steps late");
        assert_eq!(verify(secret, &code(secret, now - 1), now, Some(now)), None, "older than the last used");
        assert_eq!(verify(secret, "12345", now, None), None);
        assert_eq!(verify(secret, "abcdef", now, None), None);
    }
}
