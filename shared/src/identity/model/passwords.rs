//! Passwords: argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane), PHC strings at rest.
//!
//! [`verify`] takes the stored hash as an `Option`: for an unknown email the caller passes `None`
//! and the same argon2 verification runs against a fixed dummy hash, so the unknown-email path
//! does the same work as the wrong-password path. There is no early return on `None`.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

pub const MIN_LENGTH: usize = 12;
/// Longer inputs are refused before hashing: hashing cost must not be the attacker's to choose.
pub const MAX_LENGTH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("a password has at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("password hashing failed")]
    Hashing,
}

fn hasher() -> Argon2<'static> {
    // Params::new only fails on out-of-range values; these are the documented OWASP ones.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A new password, checked against the policy before it is hashed.
pub fn check_policy(password: &SecretString) -> Result<(), PasswordError> {
    let n = password.expose_secret().chars().count();
    if n < MIN_LENGTH || password.expose_secret().trim().is_empty() {
        return Err(PasswordError::TooShort);
    }
    if n > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// The PHC string to store for a password that passed [`check_policy`].
pub fn hash(password: &SecretString) -> Result<String, PasswordError> {
    check_policy(password)?;
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(b"no user has this password; it only burns the same time", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

static VERIFICATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many argon2 verifications this process has run: lets a test check, by structure rather
/// than with a timer, that every login path runs one.
pub fn verifications() -> u64 {
    VERIFICATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether `password` matches `stored`. With `stored = None` (no such user) the same verification
/// runs against a dummy hash and the answer is `false`.
pub fn verify(password: &SecretString, stored: Option<&str>) -> bool {
    VERIFICATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let target = stored.unwrap_or_else(|| dummy_hash());
    // An oversized input is compared as an empty one: same work, never a match.
    let candidate = password.expose_secret();
    let candidate = if candidate.len() > 4 * MAX_LENGTH { "" } else { candidate };
    let matched = match PasswordHash::new(target) {
        Ok(parsed) => hasher().verify_password(candidate.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    };
    matched && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> SecretString {
        SecretString::from(v.to_owned())
    }

    #[test]
    fn hashes_verify_and_are_argon2id_with_owasp_parameters() {
        let stored = hash(&s("correct horse battery staple")).unwrap_or_default();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify(&s("correct horse battery staple"), Some(&stored)));
        assert!(!verify(&s("correct horse battery stapl"), Some(&stored)));
        let again = hash(&s("correct horse battery staple")).unwrap_or_default();
        assert_ne!(stored, again, "salted");
    }

    #[test]
    fn unknown_users_never_verify_even_with_the_dummy_password() {
        assert!(!verify(&s("no user has this password; it only burns the same time"), None));
        assert!(!verify(&s("anything at all"), None));
        assert!(!verify(&s("anything at all"), Some("not a phc string")));
    }

    #[test]
    fn policy_refuses_short_blank_and_huge_passwords() {
        assert_eq!(hash(&s("short")), Err(PasswordError::TooShort));
        assert_eq!(hash(&s("              ")), Err(PasswordError::TooShort));
        assert_eq!(hash(&s(&"x".repeat(MAX_LENGTH + 1))), Err(PasswordError::TooLong));
    }
}
