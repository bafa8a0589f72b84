//! The second factor's pure parts: its time limits, what a login answers when one is needed, the
//! enrolment's `otpauth://` URI, and the shape of email and recovery codes.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Error;
use crate::identity::totp;

pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
pub const EMAIL_CODE_TTL: Duration = Duration::minutes(10);
/// Wrong codes a challenge tolerates before it is spent.
pub const MAX_ATTEMPTS: i32 = 5;
pub const RECOVERY_CODES: usize = 10;
pub const REQUIRED_ROLES_SETTING: &str = "mfa.required_roles";
const ISSUER: &str = "Regen Therapy Gateway";

/// What a login answers when a second factor is needed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    /// Send with the code to `POST /api/v1/auth/mfa/verify`.
    pub challenge_token: String,
    /// `totp` (an enrolled authenticator), `email` (a code by email: `POST /api/v1/auth/mfa/email`),
    /// `recovery_code`.
    pub methods: Vec<String>,
    pub expires_in: i64,
}

/// How a challenge may be answered: with an authenticator the mailbox is not a second factor (a
/// reset already rides on it).
pub fn challenge_methods(enrolled: bool) -> Vec<String> {
    if enrolled { vec!["totp".into(), "recovery_code".into()] } else { vec!["email".into()] }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sent {
    /// Always `sent`.
    pub status: &'static str,
    pub expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolment {
    pub factor_id: Uuid,
    /// The shared secret, base32 (type it into an authenticator app).
    pub secret: String,
    /// The same as a QR-code-ready `otpauth://totp/...` URI.
    pub otpauth_uri: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each works once, instead of a code. Shown only now.
    pub recovery_codes: Vec<String>,
}

fn uri_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `otpauth://totp/...` URI of a secret (base32) for the account `email`.
pub fn otpauth_uri(email: &str, secret_b32: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={}&period={}",
        uri_escape(ISSUER),
        uri_escape(email),
        uri_escape(ISSUER),
        totp::DIGITS,
        totp::STEP_SECONDS
    )
}

/// A recovery code as stored (hashed): upper case, without dashes and spaces.
pub fn normalize_recovery_code(code: &str) -> String {
    code.trim().to_ascii_uppercase().chars().filter(|c| *c != '-' && *c != ' ').collect()
}

/// A recovery code as shown, from 8 random bytes: `XXXX-XXXX-XXXX`.
pub fn recovery_code(random: &[u8; 8]) -> String {
    let raw = totp::base32(random);
    format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..12])
}

/// A 6-digit email code from 4 random bytes.
pub fn email_code(random: [u8; 4]) -> String {
    format!("{:06}", u32::from_be_bytes(random) % 1_000_000)
}

/// Exactly one of a code and a recovery code must be sent.
pub fn check_one_code(code: Option<&str>, recovery_code: Option<&str>) -> Result<(), Error> {
    if code.is_none() == recovery_code.is_none() {
        return Err(Error::invalid("code", "required", "send code or recovery_code"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_otpauth_uri_escapes_issuer_and_account() {
        let uri = otpauth_uri("a+b@example.com", "JBSWY3DP");
        assert!(
            uri.starts_with("otpauth://totp/Regen%20Therapy%20Gateway:a%2Bb%40example.com?secret=JBSWY3DP")
        );
        assert!(uri.ends_with("&issuer=Regen%20Therapy%20Gateway&algorithm=SHA1&digits=6&period=30"));
    }

    #[test]
    fn recovery_codes_are_shown_grouped_and_matched_loosely() {
        let code = recovery_code(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(code.len(), 14);
        assert_eq!(normalize_recovery_code(&format!(" {} ", code.to_lowercase())), code.replace('-', ""));
        assert_eq!(email_code([0, 0, 0, 7]), "000007");
        assert!(check_one_code(Some("1"), None).is_ok());
        assert!(check_one_code(None, None).is_err());
        assert!(check_one_code(Some("1"), Some("2")).is_err());
        assert_eq!(challenge_methods(false), vec!["email".to_string()]);
    }
}
