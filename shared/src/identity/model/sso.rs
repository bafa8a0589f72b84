//! Single sign-on's types and the rules on a provider's configuration.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::platform::error::FieldError;

/// How long a started sign-in may take to come back.
pub const LOGIN_TTL: Duration = Duration::minutes(10);

/// A tenant's configured provider, its client secret opened.
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: String,
    pub allow_provisioning: bool,
    pub default_role: Option<String>,
}

/// A started sign-in, as its spent `state` returns it.
pub struct PendingLogin {
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
}

/// Who a finished sign-in is: the member, and whether single sign-on just provisioned them.
pub struct Member {
    pub user: Uuid,
    pub provisioned: bool,
}

/// A tenant's identity provider, as configured (never the client secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoProvider {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub has_client_secret: bool,
    pub scopes: String,
    pub allow_provisioning: bool,
    pub default_role: Option<String>,
    pub enabled: bool,
    /// Where the provider must send users back (register it with the provider).
    pub redirect_uri: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoProviderConfig {
    /// The OpenID issuer URL (its discovery document is `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// For confidential clients; stored encrypted.
    pub client_secret: Option<String>,
    pub scopes: Option<String>,
    /// Create a member on first sign-in when no member has the email (default false).
    pub allow_provisioning: Option<bool>,
    /// The role a provisioned member gets (a tenant-level role; default TENANT_USER).
    pub default_role: Option<String>,
    pub enabled: Option<bool>,
}

impl SsoProviderConfig {
    /// The field errors of configuring provider `name` (`local`: a local stack, where the test
    /// provider's plain http is allowed), the default role left to the caller (who may grant it
    /// depends on who they are).
    pub fn check(&self, name: &str, local: bool) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if name.is_empty()
            || name.len() > 40
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            errors.push(FieldError::new("path:name", "invalid", "1-40 of a-z, 0-9 and '-'"));
        }
        // Plain http only on a local stack (the test provider); anywhere else an issuer is https.
        let scheme_ok = |u: &reqwest::Url| u.scheme() == "https" || (local && u.scheme() == "http");
        if !reqwest::Url::parse(&self.issuer).is_ok_and(|u| scheme_ok(&u) && u.host_str().is_some()) {
            errors.push(FieldError::new(
                "issuer",
                "invalid",
                if local { "an http(s) URL" } else { "an https URL" },
            ));
        }
        if self.client_id.trim().is_empty() {
            errors.push(FieldError::new(
                "client_id",
                "required",
                "the client id registered with the provider",
            ));
        }
        errors
    }

    pub fn scopes(&self) -> String {
        self.scopes.clone().unwrap_or_else(|| "openid email profile".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str, client_id: &str) -> SsoProviderConfig {
        SsoProviderConfig {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            scopes: None,
            allow_provisioning: None,
            default_role: None,
            enabled: None,
        }
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| format!("{}:{}", e.field, e.code)).collect()
    }

    #[test]
    fn a_provider_is_named_in_lower_case_and_issued_over_https() {
        assert!(config("https://accounts.google.com", "id").check("google", false).is_empty());
        assert_eq!(
            fields(config("http://accounts.google.com", "id").check("google", false)),
            ["issuer:invalid"]
        );
        assert!(config("http://127.0.0.1:4000", "id").check("test-1", true).is_empty(), "a local stack");
        assert_eq!(
            fields(config("not a url", " ").check("Google", false)),
            ["path:name:invalid", "issuer:invalid", "client_id:required"]
        );
        assert_eq!(fields(config("https://x.io", "id").check(&"a".repeat(41), false)), ["path:name:invalid"]);
        assert_eq!(config("https://x.io", "id").scopes(), "openid email profile");
    }
}
