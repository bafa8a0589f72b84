//! The OpenID Connect client: discovery and JWKS (cached per instance for [`CACHE_TTL`], the JWKS
//! again at once when an ID token names an unknown key), the authorization-code exchange, and the
//! ID token's verification. Every HTTP request to a provider goes through one function,
//! [`call`], behind the outbound check.

mod wire;

use crate::platform::outbound::{self, Outbound, Policy};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::Mutex;

use wire::TokenResponse;
pub use wire::{AuthorizationRequest, CodeExchange, Discovery, IdClaims};

pub const CACHE_TTL: Duration = Duration::hours(1);
/// Clock skew tolerated on the ID token's `exp`.
pub const LEEWAY: Duration = Duration::seconds(30);

/// Why talking to an identity provider failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The provider did not answer, refused, answered something unusable, or its ID token fails
    /// verification: the sign-in fails (the cause is in the log, not in the answer).
    #[error("single sign-on failed: {0}")]
    Failed(&'static str),
    /// The HTTP client could not be built (never the provider's fault).
    #[error("the HTTP client for identity providers: {0}")]
    Client(String),
}

/// Logs the cause and answers the sign-in's failure.
fn failed(what: &'static str, cause: impl std::fmt::Display) -> Error {
    tracing::warn!(error = %cause, "{what}");
    Error::Failed(what)
}

/// A provider's discovery document and keys, as fetched at `fetched_at`.
pub struct Metadata {
    pub discovery: Discovery,
    jwks: JwkSet,
    fetched_at: DateTime<Utc>,
}

fn cache() -> &'static Mutex<HashMap<String, Arc<Metadata>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Metadata>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// Where the gateway may call an identity provider: https to a public host. On a local stack plain
/// http and loopback are allowed too (the test provider). Keeps a tenant admin's issuer, or the
/// endpoints its discovery document names, from pointing the gateway at internal addresses.
pub fn check_outbound(url: &str, local: bool) -> Result<(), Error> {
    let u = reqwest::Url::parse(url).map_err(|e| failed("an endpoint is not a URL", e))?;
    if local {
        return if matches!(u.scheme(), "http" | "https") {
            Ok(())
        } else {
            Err(failed("an endpoint is not http(s)", url))
        };
    }
    if u.scheme() != "https" {
        return Err(failed("an endpoint is not https", url));
    }
    let host = u.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let internal = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
        Err(_) => {
            host.is_empty()
                || host == "localhost"
                || host.ends_with(".localhost")
                || host.ends_with(".internal")
        }
    };
    if internal {
        return Err(failed("an endpoint points at an internal address", url));
    }
    Ok(())
}

/// One request to a provider.
enum Request<'a> {
    Get(&'a str),
    PostForm(&'a str, &'a [(&'static str, String)]),
}

/// What to say when each step of a request fails.
struct Failures {
    no_answer: &'static str,
    refused: &'static str,
    malformed: &'static str,
}

const FETCH: Failures = Failures {
    no_answer: "the identity provider did not answer",
    refused: "the identity provider refused",
    malformed: "the identity provider's answer is malformed",
};

/// THE call to an identity provider: checks the URL ([`check_outbound`]), sends, and reads a JSON
/// answer from a 2xx. Every provider request goes through here.
async fn call<T: serde::de::DeserializeOwned>(
    req: Request<'_>,
    local: bool,
    f: Failures,
) -> Result<T, Error> {
    let url = match &req {
        Request::Get(url) | Request::PostForm(url, _) => *url,
    };
    check_outbound(url, local)?;
    let policy = if local { Policy::Local } else { Policy::Production };
    let client = Outbound::shared(policy).map_err(|e| Error::Client(e.to_string()))?;
    let call = match req {
        Request::Get(url) => client.get(url).header("accept", "application/json"),
        Request::PostForm(url, form) => client.post(url).form(form),
    };
    let answer = call.send().await.map_err(|e| match e {
        outbound::Error::Status { .. } => failed(f.refused, e),
        _ => failed(f.no_answer, e),
    })?;
    answer.json().map_err(|e| failed(f.malformed, e))
}

/// Discovery and JWKS of `issuer`, cached; `refresh` forces both to be fetched again.
pub async fn metadata(
    issuer: &str,
    now: DateTime<Utc>,
    refresh: bool,
    local: bool,
) -> Result<Arc<Metadata>, Error> {
    let key = issuer.trim_end_matches('/').to_owned();
    if !refresh {
        if let Some(c) = cache().lock().await.get(&key) {
            if now - c.fetched_at < CACHE_TTL {
                return Ok(c.clone());
            }
        }
    }
    let discovery: Discovery =
        call(Request::Get(&format!("{key}/.well-known/openid-configuration")), local, FETCH).await?;
    if discovery.issuer.trim_end_matches('/') != key {
        return Err(failed("the discovery document names another issuer", &discovery.issuer));
    }
    check_outbound(&discovery.authorization_endpoint, local)?;
    check_outbound(&discovery.token_endpoint, local)?;
    let jwks: JwkSet = call(Request::Get(&discovery.jwks_uri), local, FETCH).await?;
    let cached = Arc::new(Metadata { discovery, jwks, fetched_at: now });
    cache().lock().await.insert(key, cached.clone());
    Ok(cached)
}

/// The S256 PKCE challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// The URL to send the browser to: the provider's authorization endpoint with `req`.
pub fn authorization_url(meta: &Metadata, req: &AuthorizationRequest<'_>) -> Result<reqwest::Url, Error> {
    let endpoint = reqwest::Url::parse(&meta.discovery.authorization_endpoint)
        .map_err(|e| failed("the authorization endpoint is not a URL", e))?;
    Ok(req.url(endpoint))
}

/// What finishing a sign-in needs besides the provider's answer.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: DateTime<Utc>,
    pub local: bool,
}

/// Exchanges the code (with the PKCE verifier) at the token endpoint and verifies the ID token it
/// answers; when the token names a key the cached JWKS lacks (the provider rotated), the metadata
/// is fetched once more.
pub async fn sign_in(exchange: CodeExchange, expected: &Expected<'_>) -> Result<IdClaims, Error> {
    let meta = metadata(expected.issuer, expected.now, false, expected.local).await?;
    let form = exchange.form();
    let tokens: TokenResponse = call(
        Request::PostForm(&meta.discovery.token_endpoint, &form),
        expected.local,
        Failures {
            no_answer: "the token endpoint did not answer",
            refused: "the provider refused the code exchange",
            malformed: "the token endpoint's answer is malformed",
        },
    )
    .await?;
    let issuer = meta.discovery.issuer.clone();
    let verify = |jwks: &JwkSet| {
        verify_id_token(&tokens.id_token, jwks, &issuer, expected.client_id, expected.nonce, expected.now)
    };
    match verify(&meta.jwks)? {
        Some(claims) => Ok(claims),
        None => {
            let fresh = metadata(expected.issuer, expected.now, true, expected.local).await?;
            verify(&fresh.jwks)?.ok_or_else(|| failed("the ID token names an unknown key", "kid"))
        }
    }
}

/// Verifies an ID token: signature by a key of the issuer's JWKS, `iss`, `aud`, `exp` at `now`
/// (with [`LEEWAY`]) and `nonce`. `None` when the token names a key `jwks` does not have.
fn verify_id_token(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<Option<IdClaims>, Error> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| failed("the ID token is malformed", e))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256 | Algorithm::PS256) {
        return Err(failed("the ID token's algorithm is not accepted", format!("{:?}", header.alg)));
    }
    let Some(jwk) = header.kid.as_deref().and_then(|kid| jwks.find(kid)) else { return Ok(None) };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| failed("the provider's key is unusable", e))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.validate_exp = false;
    validation.required_spec_claims = ["exp", "iss", "aud", "sub"].iter().map(|s| s.to_string()).collect();
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map_err(|e| failed("the ID token is not valid for this client", e))?
        .claims;
    if now.timestamp() >= claims.exp + LEEWAY.num_seconds() {
        return Err(failed("the ID token has expired", claims.exp));
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(failed("the ID token's nonce does not match", "nonce"));
    }
    Ok(Some(claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_local_stack_providers_are_https_on_public_hosts() {
        for ok in [
            "https://accounts.google.com",
            "https://login.microsoftonline.com/x/v2.0",
            "https://8.8.8.8/jwks",
        ] {
            assert!(check_outbound(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://accounts.google.com",
            "https://localhost/x",
            "https://127.0.0.1/x",
            "https://10.0.0.5/token",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://metadata.google.internal/x",
            "ftp://example.com",
        ] {
            assert!(check_outbound(bad, false).is_err(), "{bad}");
        }
        assert!(check_outbound("http://127.0.0.1:4000", true).is_ok(), "the local test provider");
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
