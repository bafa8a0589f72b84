//! An email as sent: rendered from its request (template and parameters), with the checks that keep
//! a malformed request from ever reaching a mailbox.

use super::events::{EmailRequested, EmailTemplate};

/// Parameters that carry a single-use secret (an invitation or reset link).
pub const SECRET_PARAMS: &[&str] = &["accept_url", "reset_url"];

/// A rendered email, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Stable per request (the event id), so a provider can drop a duplicate too.
    pub idempotency_key: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("recipient is not an email address")]
    BadRecipient,
    #[error("subject has control characters or is over 200 characters")]
    BadSubject,
    #[error("template {template:?} needs the parameter {param}")]
    MissingParam { template: EmailTemplate, param: &'static str },
}

fn param(req: &EmailRequested, name: &'static str) -> Result<String, RenderError> {
    match req.params.get(name) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(v @ serde_json::Value::Number(_)) => Ok(v.to_string()),
        _ => Err(RenderError::MissingParam { template: req.template, param: name }),
    }
}

fn plausible_address(a: &str) -> bool {
    let Some((local, domain)) = a.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && a.len() <= 254
        && !a.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
}

/// Renders the plain-text email for a request.
pub fn render(req: &EmailRequested, idempotency_key: &str) -> Result<Email, RenderError> {
    if !plausible_address(&req.to) {
        return Err(RenderError::BadRecipient);
    }
    let (subject, text) = match req.template {
        EmailTemplate::Invitation => {
            let tenant = param(req, "tenant_name")?;
            (
                format!("You are invited to {tenant} on Regen Therapy Gateway"),
                format!(
                    "You have been invited to join {tenant}.\n\nAccept the invitation and choose a password:\n{}\n\nThe link expires at {}.\n",
                    param(req, "accept_url")?,
                    param(req, "expires_at")?
                ),
            )
        }
        EmailTemplate::PasswordReset => (
            "Reset your Regen Therapy Gateway password".to_owned(),
            format!(
                "Someone asked to reset the password of this account.\n\nChoose a new password:\n{}\n\nThe link expires at {}. If it was not you, ignore this email.\n",
                param(req, "reset_url")?,
                param(req, "expires_at")?
            ),
        ),
        EmailTemplate::EmailCode => (
            "Your Regen Therapy Gateway sign-in code".to_owned(),
            format!(
                "Your sign-in code is {}.\n\nIt expires in {} minutes. Never share it.\n",
                param(req, "code")?,
                param(req, "expires_minutes")?
            ),
        ),
        EmailTemplate::Notice => (param(req, "subject")?, param(req, "text")?),
    };
    // A line break in the subject would let a parameter write mail headers.
    if subject.chars().any(char::is_control) || subject.len() > 200 {
        return Err(RenderError::BadSubject);
    }
    Ok(Email { to: req.to.clone(), subject, text, idempotency_key: idempotency_key.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::super::events::{EmailRequested, EmailTemplate};
    use super::*;

    fn req(template: EmailTemplate, params: serde_json::Value) -> EmailRequested {
        EmailRequested {
            to: "ops@clinic.example".into(),
            template,
            params: params.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn renders_each_template_with_its_parameters() {
        let e = render(
            &req(EmailTemplate::EmailCode, serde_json::json!({"code": "493021", "expires_minutes": 10})),
            "k",
        )
        .map_err(|e| e.to_string());
        let e = e.unwrap_or_else(|m| unreachable!("{m}"));
        assert!(e.text.contains("493021") && e.text.contains("10 minutes"), "{}", e.text);
        let missing =
            render(&req(EmailTemplate::PasswordReset, serde_json::json!({"reset_url": "https://x"})), "k");
        assert_eq!(
            missing,
            Err(RenderError::MissingParam { template: EmailTemplate::PasswordReset, param: "expires_at" })
        );
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let r = req(
            EmailTemplate::Notice,
            serde_json::json!({"subject": "Hi\r\nBcc: all@evil.example", "text": "t"}),
        );
        assert_eq!(render(&r, "k"), Err(RenderError::BadSubject));
    }

    #[test]
    fn refuses_recipients_that_are_not_addresses() {
        for to in ["", "nobody", "a@b", "a b@c.d", "x@y.z, evil@e.f", "<a@b.c>"] {
            let r =
                EmailRequested { to: to.into(), template: EmailTemplate::Notice, params: Default::default() };
            assert_eq!(render(&r, "k"), Err(RenderError::BadRecipient), "{to}");
        }
    }
}
