//! Access tokens: ES256 JWTs with a key id, from a key ring kept in Secrets Manager so keys rotate.
//!
//! The private ring's secret is JSON: `{"active_kid": "k2", "keys": [{"kid": "k1", "private_key":
//! "<base64 PKCS#8 DER>"}, ...]}`; only the functions that issue tokens (login, refresh, tenant
//! switch) and the rotation read it. Its public half (`{"keys": [{"kid", "public_key"}]}`) is a
//! separate secret every verifying function reads, so no API function but the issuers holds a key
//! that could forge a token. Tokens are signed with the active key and verified with any key still
//! in the ring, so a rotation adds the new key, switches `active_kid`, and keeps the previous one
//! for the tokens it signed. Verification refuses every algorithm but ES256 (so `alg: none` and
//! HS256-with-the-public-key confusion fail), unknown key ids, other issuers and audiences, and
//! checks `exp` and `nbf` against the injected clock. Public keys are parsed once per ring, not per
//! token.

use std::collections::HashMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, ParsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::platform::tenant::TenantId;

pub const ISSUER: &str = "regen-gateway";
pub const AUDIENCE: &str = "regen-gateway-api";
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);

/// What an access token says: who (user), for which tenant, with which roles, in which session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: Uuid,
    /// The tenant the token acts for.
    pub tid: TenantId,
    pub roles: Vec<String>,
    /// The session; revoking it stops the token at the next session check.
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
}

impl AccessClaims {
    /// Claims for a token issued `now`, valid for [`ACCESS_TOKEN_TTL`].
    pub fn new(user: Uuid, tenant: TenantId, roles: Vec<String>, session: Uuid, now: DateTime<Utc>) -> Self {
        Self {
            sub: user,
            tid: tenant,
            roles,
            sid: session,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + ACCESS_TOKEN_TTL).timestamp(),
            jti: Uuid::now_v7(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token algorithm not accepted")]
    Algorithm,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature or claims")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("key ring: {0}")]
    Ring(String),
}

#[derive(Deserialize, Serialize, Default)]
struct RingJson {
    #[serde(default)]
    active_kid: String,
    #[serde(default)]
    keys: Vec<KeyJson>,
}

#[derive(Deserialize, Serialize)]
struct KeyJson {
    kid: String,
    private_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime<Utc>>,
}

/// One rotation of the ring secret: a new key, made active; the previous active key stays so the
/// tokens it signed verify until they expire (rotations are far more than [`ACCESS_TOKEN_TTL`]
/// apart); older keys leave. An empty ring (`{}` or `{"keys": []}`) gets its first key. Returns
/// the new secret value and the new key id.
pub fn rotated(current: &SecretString, now: DateTime<Utc>) -> Result<(SecretString, String), TokenError> {
    let ring: RingJson = if current.expose_secret().trim().is_empty() {
        RingJson::default()
    } else {
        serde_json::from_str(current.expose_secret())
            .map_err(|e| TokenError::Ring(format!("{:?} error at line {}", e.classify(), e.line())))?
    };
    let mut kid = format!("k{}", now.format("%Y%m%dT%H%M%S"));
    while ring.keys.iter().any(|k| k.kid == kid) {
        kid.push('x');
    }
    let mut keys: Vec<KeyJson> = ring.keys.into_iter().filter(|k| k.kid == ring.active_kid).collect();
    keys.push(KeyJson {
        kid: kid.clone(),
        private_key: generate_private_key()?.expose_secret().to_owned(),
        created_at: Some(now),
    });
    let json = serde_json::to_string(&RingJson { active_kid: kid.clone(), keys })
        .map_err(|e| TokenError::Ring(e.to_string()))?;
    Ok((SecretString::from(json), kid))
}

/// Verifying keys by id (public), and — in the private ring only — the active signing key.
pub struct KeyRing {
    active_kid: String,
    signing: Option<EncodingKey>,
    verifying: HashMap<String, ParsedPublicKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<_> = self.verifying.keys().collect();
        kids.sort();
        f.debug_struct("KeyRing")
            .field("active_kid", &self.active_kid)
            .field("kids", &kids)
            .field("can_sign", &self.signing.is_some())
            .finish()
    }
}

/// The public half of the ring: `{"active_kid", "keys": [{"kid", "public_key": "<base64 uncompressed
/// P-256 point>"}]}`. Functions that only verify tokens read this secret, never the private ring.
#[derive(Deserialize, Serialize, Default)]
struct PublicRingJson {
    #[serde(default)]
    active_kid: String,
    #[serde(default)]
    keys: Vec<PublicKeyJson>,
}

#[derive(Deserialize, Serialize)]
struct PublicKeyJson {
    kid: String,
    public_key: String,
}

#[derive(Deserialize)]
struct JwtHeader {
    alg: String,
    kid: Option<String>,
    /// Extensions the token says must be understood: none are, so any is a refusal (RFC 7515).
    crit: Option<serde_json::Value>,
}

fn ring_error(e: &serde_json::Error) -> TokenError {
    TokenError::Ring(format!("{:?} error at line {}", e.classify(), e.line()))
}

/// A new P-256 key as the ring stores it (base64 PKCS#8 DER).
pub fn generate_private_key() -> Result<SecretString, TokenError> {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| TokenError::Ring("key generation failed".into()))?;
    Ok(SecretString::from(STANDARD.encode(pkcs8.as_ref())))
}

/// The ring secret's JSON for `keys` (kid, base64 PKCS#8), the first or named one active.
pub fn ring_json(active_kid: &str, keys: &[(&str, &SecretString)]) -> SecretString {
    let keys: Vec<KeyJson> = keys
        .iter()
        .map(|(kid, k)| KeyJson {
            kid: (*kid).to_owned(),
            private_key: k.expose_secret().to_owned(),
            created_at: None,
        })
        .collect();
    SecretString::from(serde_json::json!({ "active_kid": active_kid, "keys": keys }).to_string())
}

impl KeyRing {
    /// Parses the private ring secret (signs and verifies). Fails on a malformed key or a missing
    /// active key.
    pub fn from_json(secret: &SecretString) -> Result<Self, TokenError> {
        let ring: RingJson = serde_json::from_str(secret.expose_secret()).map_err(|e| ring_error(&e))?;
        let mut verifying = HashMap::new();
        let mut signing = None;
        for k in &ring.keys {
            let der = STANDARD
                .decode(&k.private_key)
                .map_err(|_| TokenError::Ring(format!("{}: not base64", k.kid)))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map_err(|_| TokenError::Ring(format!("{}: not a P-256 PKCS#8 key", k.kid)))?;
            let public = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
                .map_err(|_| TokenError::Ring(format!("{}: bad public key", k.kid)))?;
            verifying.insert(k.kid.clone(), public);
            if k.kid == ring.active_kid {
                signing = Some(EncodingKey::from_ec_der(&der));
            }
        }
        if signing.is_none() {
            return Err(TokenError::Ring(format!(
                "active key {:?} is not in the ring (an empty ring gets its first key from the \
                 rotate-signing-keys function)",
                ring.active_kid
            )));
        }
        Ok(Self { active_kid: ring.active_kid, signing, verifying })
    }

    /// Parses the public ring secret (verifies only).
    pub fn from_public_json(secret: &SecretString) -> Result<Self, TokenError> {
        let ring: PublicRingJson =
            serde_json::from_str(secret.expose_secret()).map_err(|e| ring_error(&e))?;
        let mut verifying = HashMap::new();
        for k in &ring.keys {
            let point = STANDARD
                .decode(&k.public_key)
                .map_err(|_| TokenError::Ring(format!("{}: not base64", k.kid)))?;
            let public = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .map_err(|_| TokenError::Ring(format!("{}: not a P-256 public key", k.kid)))?;
            verifying.insert(k.kid.clone(), public);
        }
        if verifying.is_empty() {
            return Err(TokenError::Ring(
                "no verification keys (the rotate-signing-keys function writes them)".into(),
            ));
        }
        Ok(Self { active_kid: ring.active_kid, signing: None, verifying })
    }

    /// The public ring secret for this ring: what verifying functions read.
    pub fn public_json(&self) -> Result<String, TokenError> {
        let mut keys: Vec<PublicKeyJson> = self
            .verifying
            .iter()
            .map(|(kid, key)| PublicKeyJson { kid: kid.clone(), public_key: STANDARD.encode(key.as_ref()) })
            .collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        serde_json::to_string(&PublicRingJson { active_kid: self.active_kid.clone(), keys })
            .map_err(|e| TokenError::Ring(e.to_string()))
    }

    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    /// Signs `claims` with the active key (the private ring only).
    pub fn issue(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let signing =
            self.signing.as_ref().ok_or_else(|| TokenError::Ring("this ring cannot sign".into()))?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.active_kid.clone());
        jsonwebtoken::encode(&header, claims, signing).map_err(|e| TokenError::Ring(e.to_string()))
    }

    /// Verifies algorithm (ES256 only), key id, signature (with the pre-parsed public key), issuer
    /// and audience, then `exp`/`nbf` against `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| TokenError::Malformed);
        let header: JwtHeader = serde_json::from_slice(&b64(h)?).map_err(|_| TokenError::Malformed)?;
        if header.alg != "ES256" {
            return Err(TokenError::Algorithm);
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        let key = header.kid.as_deref().and_then(|k| self.verifying.get(k)).ok_or(TokenError::UnknownKey)?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        key.verify_sig(signing_input.as_bytes(), &b64(sig)?).map_err(|_| TokenError::Invalid)?;
        let claims: AccessClaims = serde_json::from_slice(&b64(p)?).map_err(|_| TokenError::Invalid)?;
        if claims.iss != ISSUER || claims.aud != AUDIENCE {
            return Err(TokenError::Invalid);
        }
        let now = now.timestamp();
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        if now < claims.nbf {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(active: &str, keys: &[(&str, &SecretString)]) -> KeyRing {
        KeyRing::from_json(&ring_json(active, keys)).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
    }

    fn claims(at: DateTime<Utc>) -> AccessClaims {
        AccessClaims::new(Uuid::now_v7(), TenantId::new(), vec!["TENANT_USER".into()], Uuid::now_v7(), at)
    }

    fn b64url(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn a_token_verifies_until_it_expires_on_the_injected_clock() {
        let k1 = generate_private_key().unwrap_or_else(|e| unreachable!("{e}"));
        let ring = ring("k1", &[("k1", &k1)]);
        let c = claims(now());
        let token = ring.issue(&c).unwrap_or_default();
        assert_eq!(ring.verify(&token, now()), Ok(c));
        assert_eq!(ring.verify(&token, now() + ACCESS_TOKEN_TTL - Duration::seconds(1)).map(|_| ()), Ok(()));
        assert_eq!(ring.verify(&token, now() + ACCESS_TOKEN_TTL), Err(TokenError::Expired));
        assert_eq!(ring.verify(&token, now() - Duration::seconds(1)), Err(TokenError::NotYetValid));
    }

    #[test]
    fn alg_none_confusion_tampering_and_foreign_keys_are_refused() {
        let k1 = generate_private_key().unwrap_or_else(|e| unreachable!("{e}"));
        let ring = ring("k1", &[("k1", &k1)]);
        let c = claims(now());
        let token = ring.issue(&c).unwrap_or_default();
        let parts: Vec<&str> = token.split('.').collect();
        let payload = serde_json::to_value(&c).unwrap_or_default();

        // alg: none, no signature.
        let none = format!(
            "{}.{}.",
            b64url(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
            parts[1]
        );
        assert_eq!(ring.verify(&none, now()), Err(TokenError::Algorithm));
        // HS256 keyed with something public (the classic confusion attack).
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some("k1".into());
        let forged = jsonwebtoken::encode(&hs, &payload, &EncodingKey::from_secret(b"public key bytes"))
            .unwrap_or_default();
        assert_eq!(ring.verify(&forged, now()), Err(TokenError::Algorithm));
        // A payload edited after signing (roles raised).
        let mut raised = payload.clone();
        raised["roles"] = serde_json::json!(["SUPER_ADMIN"]);
        let tampered = format!("{}.{}.{}", parts[0], b64url(&raised), parts[2]);
        assert_eq!(ring.verify(&tampered, now()), Err(TokenError::Invalid));
        // Signed by a key the ring does not hold, under a kid it does.
        let other =
            ring_json("k1", &[("k1", &generate_private_key().unwrap_or_else(|e| unreachable!("{e}")))]);
        let stranger =
            KeyRing::from_json(&other).unwrap_or_else(|e| unreachable!("{e}")).issue(&c).unwrap_or_default();
        assert_eq!(ring.verify(&stranger, now()), Err(TokenError::Invalid));
        // Wrong audience.
        let mut aud = c.clone();
        aud.aud = "someone-else".into();
        assert_eq!(ring.verify(&ring.issue(&aud).unwrap_or_default(), now()), Err(TokenError::Invalid));
        assert_eq!(ring.verify("not.a.token", now()), Err(TokenError::Malformed));
        assert_eq!(ring.verify(&format!("{token}.extra"), now()), Err(TokenError::Malformed));
        // A critical extension nobody here understands.
        let crit = format!(
            "{}.{}.{}",
            b64url(&serde_json::json!({"alg": "ES256", "kid": "k1", "crit": ["exp"]})),
            parts[1],
            parts[2]
        );
        assert_eq!(ring.verify(&crit, now()), Err(TokenError::Malformed));
        // The public half verifies the same tokens and cannot sign.
        let public = KeyRing::from_public_json(&SecretString::from(ring.public_json().unwrap_or_default()))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(public.verify(&token, now()), Ok(c.clone()));
        assert_eq!(public.verify(&tampered, now()), Err(TokenError::Invalid));
        assert!(public.issue(&c).is_err());
    }

    #[test]
    fn rotating_adds_an_active_key_keeps_the_previous_one_and_drops_older_ones() {
        let t0 = now();
        let (first, k1) =
            rotated(&SecretString::from("{}".to_owned()), t0).unwrap_or_else(|e| unreachable!("{e}"));
        let r1 = KeyRing::from_json(&first).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(r1.active_kid(), k1);
        let old = r1.issue(&claims(t0)).unwrap_or_default();
        let (second, k2) = rotated(&first, t0 + Duration::days(30)).unwrap_or_else(|e| unreachable!("{e}"));
        let r2 = KeyRing::from_json(&second).unwrap_or_else(|e| unreachable!("{e}"));
        assert_ne!(k1, k2);
        assert_eq!(r2.active_kid(), k2);
        assert!(r2.verify(&old, t0).is_ok(), "the previous key still verifies");
        let (third, _) = rotated(&second, t0 + Duration::days(60)).unwrap_or_else(|e| unreachable!("{e}"));
        let r3 = KeyRing::from_json(&third).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(r3.verify(&old, t0), Err(TokenError::UnknownKey), "two rotations later it is gone");
        assert!(KeyRing::from_json(&SecretString::from("{}".to_owned())).is_err());
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_the_old_key_leaves_the_ring() {
        let (k1, k2) = (
            generate_private_key().unwrap_or_else(|e| unreachable!("{e}")),
            generate_private_key().unwrap_or_else(|e| unreachable!("{e}")),
        );
        let old = ring("k1", &[("k1", &k1)]).issue(&claims(now())).unwrap_or_default();
        let both = ring("k2", &[("k1", &k1), ("k2", &k2)]);
        assert!(both.verify(&old, now()).is_ok());
        let new = both.issue(&claims(now())).unwrap_or_default();
        assert!(
            new.starts_with(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(r#"{"typ":"JWT","alg":"ES256","kid":"k2"}"#)[..10]
            )
        );
        let only_new = ring("k2", &[("k2", &k2)]);
        assert_eq!(only_new.verify(&old, now()), Err(TokenError::UnknownKey));
        assert!(only_new.verify(&new, now()).is_ok());
        assert!(
            KeyRing::from_json(&ring_json("k3", &[("k1", &k1)])).is_err(),
            "the active key must be in the ring"
        );
    }
}
