//! The platform's merchant accounts at the two gateways, the account sets that charge together,
//! and which set a tenant's orders are charged through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Error, GatewayKind};
use crate::FieldError;
use crate::platform::validate;

/// A merchant account at one gateway. Its credentials live in Secrets Manager under
/// `credentials_secret` (a reference: the credentials are never stored here nor returned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MerchantAccount {
    pub id: Uuid,
    pub gateway: GatewayKind,
    pub name: String,
    /// The provider's base URL (`https://secure.nmi.com`, `https://api.authorize.net`, a sandbox).
    pub base_url: String,
    /// The Secrets Manager secret (name or ARN) holding the credentials: NMI `{"security_key"}`,
    /// Authorize.net `{"login_id", "transaction_key"}`.
    pub credentials_secret: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The production host of each gateway, the default base URL.
pub fn default_base_url(gateway: GatewayKind) -> &'static str {
    match gateway {
        GatewayKind::Nmi => "https://secure.nmi.com",
        GatewayKind::AuthorizeNet => "https://api.authorize.net",
    }
}

/// A new merchant account or a change to one (absent fields unchanged).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountFields {
    /// `nmi` or `authorize_net` (required on creation; never changes).
    pub gateway: Option<String>,
    pub name: Option<String>,
    /// Default: the gateway's production host.
    pub base_url: Option<String>,
    pub credentials_secret: Option<String>,
    pub enabled: Option<bool>,
}

/// A base URL: scheme and host (and port), nothing else.
fn base_url(raw: &str, errors: &mut Vec<FieldError>) {
    let ok = ["https://", "http://"].iter().any(|s| {
        raw.strip_prefix(s).is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ']))
    });
    if !ok || raw.len() > 200 {
        errors.push(FieldError::new(
            "base_url",
            "invalid",
            "scheme and host only, such as https://secure.nmi.com",
        ));
    }
}

impl AccountFields {
    /// Every problem at once; `creating` requires gateway, name and credentials_secret.
    pub fn check(&self, creating: bool) -> Result<Option<GatewayKind>, Error> {
        let mut errors = Vec::new();
        let gateway = match self.gateway.as_deref() {
            Some(g) if !creating => {
                errors.push(FieldError::new(
                    "gateway",
                    "immutable",
                    format!("an account's gateway never changes ({g})"),
                ));
                None
            }
            Some(g) => GatewayKind::parse(g).or_else(|| {
                errors.push(FieldError::new("gateway", "invalid", "nmi or authorize_net"));
                None
            }),
            None if creating => {
                errors.push(FieldError::new("gateway", "required", "nmi or authorize_net"));
                None
            }
            None => None,
        };
        match &self.name {
            Some(n) => {
                validate::text(n, "name", 100, &mut errors);
            }
            None if creating => errors.push(FieldError::new("name", "required", "a name")),
            None => {}
        }
        if let Some(url) = &self.base_url {
            base_url(url, &mut errors);
        }
        match &self.credentials_secret {
            Some(s) if s.is_empty() || s.len() > 512 || s.chars().any(char::is_whitespace) => errors.push(
                FieldError::new("credentials_secret", "invalid", "a Secrets Manager secret name or ARN"),
            ),
            Some(_) => {}
            None if creating => errors.push(FieldError::new(
                "credentials_secret",
                "required",
                "a Secrets Manager secret name or ARN",
            )),
            None => {}
        }
        if errors.is_empty() { Ok(gateway) } else { Err(Error::Invalid(errors)) }
    }
}

/// The accounts that charge together: one per gateway (at least the primary's), the primary
/// gateway (tried first), and the descriptor on the customer's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AccountSet {
    pub id: Uuid,
    pub name: String,
    pub descriptor: String,
    pub primary_gateway: GatewayKind,
    pub nmi_account_id: Option<Uuid>,
    pub authorize_net_account_id: Option<Uuid>,
    /// The set every tenant without its own is charged through.
    pub platform_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountSet {
    pub name: String,
    /// At most 22 characters (the card networks' limit).
    pub descriptor: String,
    /// `nmi` or `authorize_net`; its account must be given.
    pub primary_gateway: String,
    pub nmi_account_id: Option<Uuid>,
    pub authorize_net_account_id: Option<Uuid>,
    /// Make it the platform default (the previous default stops being one).
    #[serde(default)]
    pub platform_default: bool,
}

impl NewAccountSet {
    pub fn check(&self) -> Result<GatewayKind, Error> {
        let mut errors = Vec::new();
        validate::text(&self.name, "name", 100, &mut errors);
        let descriptor = self.descriptor.trim();
        if descriptor.is_empty() || descriptor.chars().count() > 22 || !descriptor.is_ascii() {
            errors.push(FieldError::new("descriptor", "invalid", "1 to 22 ASCII characters"));
        }
        let primary = GatewayKind::parse(&self.primary_gateway);
        match primary {
            None => errors.push(FieldError::new("primary_gateway", "invalid", "nmi or authorize_net")),
            Some(GatewayKind::Nmi) if self.nmi_account_id.is_none() => {
                errors.push(FieldError::new("nmi_account_id", "required", "the primary gateway's account"))
            }
            Some(GatewayKind::AuthorizeNet) if self.authorize_net_account_id.is_none() => errors.push(
                FieldError::new("authorize_net_account_id", "required", "the primary gateway's account"),
            ),
            Some(_) => {}
        }
        match primary {
            Some(p) if errors.is_empty() => Ok(p),
            _ => Err(Error::Invalid(errors)),
        }
    }

    /// Whether the set can fail over: an account at both gateways.
    pub fn accounts(&self) -> [(GatewayKind, Option<Uuid>); 2] {
        [(GatewayKind::Nmi, self.nmi_account_id), (GatewayKind::AuthorizeNet, self.authorize_net_account_id)]
    }
}

/// What a tenant is charged through: its own set, or the platform default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TenantAccounts {
    pub tenant_id: Uuid,
    /// `assigned` (its own set) or `platform_default`.
    pub source: String,
    pub account_set: Option<AccountSet>,
    /// An account at both gateways, both enabled: a charge NMI certainly did not process may be
    /// tried at the other.
    pub can_fail_over: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignAccounts {
    /// The set to charge the tenant through; `null` returns it to the platform default.
    pub account_set_id: Option<Uuid>,
}

/// The credentials a merchant account's secret holds (its JSON).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Credentials {
    Nmi { security_key: secrecy::SecretString },
    AuthorizeNet { login_id: secrecy::SecretString, transaction_key: secrecy::SecretString },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_account_names_every_problem_at_once() {
        let Err(Error::Invalid(errors)) = AccountFields::default().check(true) else { panic!() };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["gateway", "name", "credentials_secret"]);
        let bad = AccountFields {
            gateway: Some("stripe".into()),
            name: Some("x".into()),
            base_url: Some("https://secure.nmi.com/api/transact.php".into()),
            credentials_secret: Some("has space".into()),
            enabled: None,
        };
        let Err(Error::Invalid(errors)) = bad.check(true) else { panic!() };
        assert_eq!(errors.len(), 3, "{errors:?}");
        let change = AccountFields { gateway: Some("nmi".into()), ..Default::default() };
        assert!(change.check(false).is_err(), "the gateway never changes");
        let ok = AccountFields {
            gateway: Some("nmi".into()),
            name: Some("Platform NMI".into()),
            base_url: Some("http://127.0.0.1:4701".into()),
            credentials_secret: Some("payments/nmi-platform".into()),
            enabled: None,
        };
        assert_eq!(ok.check(true).unwrap(), Some(GatewayKind::Nmi));
    }

    #[test]
    fn a_set_needs_its_primarys_account_and_a_short_descriptor() {
        let set = |primary: &str, nmi: bool, descriptor: &str| NewAccountSet {
            name: "Default".into(),
            descriptor: descriptor.into(),
            primary_gateway: primary.into(),
            nmi_account_id: nmi.then(Uuid::new_v4),
            authorize_net_account_id: None,
            platform_default: false,
        };
        assert_eq!(set("nmi", true, "REGEN*GATEWAY").check().unwrap(), GatewayKind::Nmi);
        assert!(set("authorize_net", true, "REGEN").check().is_err());
        assert!(set("nmi", false, "REGEN").check().is_err());
        assert!(set("nmi", true, "A DESCRIPTOR OVER 22 CHARS").check().is_err());
        assert!(set("paypal", true, "REGEN").check().is_err());
    }
}
