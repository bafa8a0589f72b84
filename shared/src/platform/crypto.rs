//! Sealing secrets at rest (TOTP secrets, SSO client secrets, channel webhook secrets): AES-256-GCM
//! under a key derived from the `SEALING_KEY_SECRET` secret, each value bound to the id of the row
//! it belongs to (so a sealed value copied to another row does not open). Also the random bytes and
//! hashes every context uses.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::error::ApiError;
use super::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the sealing key is not available: {0}")]
    Key(String),
    #[error("the random generator failed")]
    Random,
    #[error("sealing failed")]
    Seal,
    #[error("a sealed value does not open (wrong key, wrong row, or altered)")]
    Open,
}

impl From<CryptoError> for ApiError {
    fn from(e: CryptoError) -> Self {
        ApiError::internal(e)
    }
}

/// SHA-256 of `text`.
pub fn sha256(text: &str) -> Vec<u8> {
    digest(&SHA256, text.as_bytes()).as_ref().to_vec()
}

/// `N` bytes from the system's secure random generator.
pub fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CryptoError::Random)?;
    Ok(bytes)
}

/// 32 random bytes as base64url without padding (a secret handed out: a link token, a PKCE
/// verifier, a webhook secret).
pub fn random_token() -> Result<String, CryptoError> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?))
}

/// The data key that seals secrets at rest: SHA-256 of the `SEALING_KEY_SECRET` secret's value.
pub async fn sealing_key(state: &AppState) -> Result<LessSafeKey, CryptoError> {
    let id = state.config().sealing_key_secret().map_err(|e| CryptoError::Key(e.to_string()))?;
    let secret = state.secrets().await.get(id).await.map_err(|e| CryptoError::Key(e.to_string()))?;
    let key = digest(&SHA256, secret.expose_secret().as_bytes());
    let unbound =
        UnboundKey::new(&AES_256_GCM, key.as_ref()).map_err(|_| CryptoError::Key("AES key".into()))?;
    Ok(LessSafeKey::new(unbound))
}

/// `nonce || ciphertext+tag`, bound to `owner` (the id of the row that stores it).
pub fn seal(key: &LessSafeKey, owner: Uuid, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce = random::<NONCE_LEN>()?;
    let mut data = plain.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(owner.as_bytes()), &mut data)
        .map_err(|_| CryptoError::Seal)?;
    Ok([nonce.as_slice(), &data].concat())
}

/// The plaintext of [`seal`]'s output for the same `owner`.
pub fn open(key: &LessSafeKey, owner: Uuid, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN {
        return Err(CryptoError::Open);
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
    let mut data = data.to_vec();
    let plain =
        key.open_in_place(nonce, Aad::from(owner.as_bytes()), &mut data).map_err(|_| CryptoError::Open)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap())
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_owner() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = seal(&key(), a, b"whsec").unwrap();
        assert_eq!(open(&key(), a, &sealed).unwrap(), b"whsec");
        assert!(matches!(open(&key(), b, &sealed), Err(CryptoError::Open)));
        assert!(matches!(open(&key(), a, &sealed[..5]), Err(CryptoError::Open)));
    }
}
