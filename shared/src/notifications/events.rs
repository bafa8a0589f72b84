//! The event every email is requested with; the services that want one record it in their
//! transaction.

use serde::{Deserialize, Serialize};

use crate::platform::events::DomainEvent;

/// Asks for one email. `template` picks the wording; `params` fills it in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailRequested {
    pub to: String,
    pub template: EmailTemplate,
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl DomainEvent for EmailRequested {
    const TYPE: &'static str = "notification.email_requested";
    const VERSION: u32 = 1;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    /// params: tenant_name, accept_url, expires_at
    Invitation,
    /// params: reset_url, expires_at
    PasswordReset,
    /// params: code, expires_minutes
    EmailCode,
    /// params: subject, text
    Notice,
}
