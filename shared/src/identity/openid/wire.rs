//! What OpenID providers send and receive: the discovery document, the token endpoint's answer,
//! the ID token's claims, and the requests we build (the code exchange form, the authorization
//! URL).

use serde::Deserialize;

/// `<issuer>/.well-known/openid-configuration`, the members we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// The token endpoint's answer, the member we use.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub id_token: String,
}

/// The ID token's claims we check or use.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub exp: i64,
    pub nonce: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

impl IdClaims {
    /// The email, only when the provider says it verified it.
    pub fn verified_email(&self) -> Option<&str> {
        match (self.email.as_deref(), self.email_verified) {
            (Some(e), Some(true)) => Some(e),
            _ => None,
        }
    }
}

/// The authorization-code exchange (RFC 6749 §4.1.3, with the PKCE verifier of RFC 7636).
pub struct CodeExchange {
    pub code: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub code_verifier: String,
    /// For confidential clients.
    pub client_secret: Option<String>,
}

impl CodeExchange {
    /// The form posted to the token endpoint.
    pub fn form(self) -> Vec<(&'static str, String)> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", self.code),
            ("redirect_uri", self.redirect_uri),
            ("client_id", self.client_id),
            ("code_verifier", self.code_verifier),
        ];
        if let Some(secret) = self.client_secret {
            form.push(("client_secret", secret));
        }
        form
    }
}

/// The authorization request's parameters (the code flow with `state`, `nonce` and an S256 PKCE
/// challenge).
pub struct AuthorizationRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_challenge: &'a str,
}

impl AuthorizationRequest<'_> {
    /// `endpoint` with the request's query.
    pub fn url(&self, mut endpoint: reqwest::Url) -> reqwest::Url {
        endpoint
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id)
            .append_pair("redirect_uri", self.redirect_uri)
            .append_pair("scope", self.scope)
            .append_pair("state", self.state)
            .append_pair("nonce", self.nonce)
            .append_pair("code_challenge", self.code_challenge)
            .append_pair("code_challenge_method", "S256");
        endpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_email_counts() {
        let claims = |email: Option<&str>, verified: Option<bool>| IdClaims {
            sub: "s".into(),
            exp: 0,
            nonce: None,
            email: email.map(str::to_owned),
            email_verified: verified,
        };
        assert_eq!(claims(Some("a@b.io"), Some(true)).verified_email(), Some("a@b.io"));
        assert_eq!(claims(Some("a@b.io"), Some(false)).verified_email(), None);
        assert_eq!(claims(Some("a@b.io"), None).verified_email(), None);
        assert_eq!(claims(None, Some(true)).verified_email(), None);
    }

    #[test]
    fn the_exchange_sends_the_secret_only_when_there_is_one() {
        let exchange = |secret: Option<&str>| CodeExchange {
            code: "c".into(),
            redirect_uri: "r".into(),
            client_id: "id".into(),
            code_verifier: "v".into(),
            client_secret: secret.map(str::to_owned),
        };
        let names = |f: Vec<(&'static str, String)>| f.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            names(exchange(None).form()),
            ["grant_type", "code", "redirect_uri", "client_id", "code_verifier"]
        );
        assert_eq!(names(exchange(Some("s")).form()).last(), Some(&"client_secret"));
    }
}
