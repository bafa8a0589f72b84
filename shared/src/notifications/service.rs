//! Where rendered emails go: SES (`aws-sdk-sesv2`) in AWS, a mailbox folder locally
//! (`EMAIL_SENDER=mailbox`, `MAILBOX_DIR`), one `.eml` file per email.

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::model::Email;
use crate::platform::clock::SharedClock;
use crate::platform::config::{ConfigError, Env};
use crate::platform::error::Cause;
use crate::platform::state::AppState;

/// Sends one email. Sending the same `idempotency_key` twice must not deliver twice where the
/// transport allows it (the mailbox checks; SES relies on the consumer's dedupe).
pub trait Sender: Send + Sync {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), Cause>>;
}

/// Which sender the configuration names: `EMAIL_SENDER` = `ses` (default; needs `EMAIL_FROM`) or
/// `mailbox` (needs `MAILBOX_DIR`). Read at cold start, so a misconfigured function fails to start
/// instead of dead-lettering every email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderConfig {
    Ses { from: String },
    Mailbox { dir: PathBuf, from: String },
}

impl SenderConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let missing = |name: &str| ConfigError::Missing(vec![name.to_owned()]);
        match env.get("EMAIL_SENDER").unwrap_or("ses") {
            "ses" => {
                Ok(Self::Ses { from: env.get("EMAIL_FROM").ok_or_else(|| missing("EMAIL_FROM"))?.to_owned() })
            }
            "mailbox" => Ok(Self::Mailbox {
                dir: PathBuf::from(env.get("MAILBOX_DIR").ok_or_else(|| missing("MAILBOX_DIR"))?),
                from: env
                    .get("EMAIL_FROM")
                    .unwrap_or("Regen Therapy Gateway <no-reply@gateway.local>")
                    .to_owned(),
            }),
            other => Err(ConfigError::Invalid {
                name: "EMAIL_SENDER".into(),
                reason: format!("{other:?} is not ses or mailbox"),
            }),
        }
    }
}

/// The sender the configuration names.
pub async fn from_state(state: &AppState) -> Result<Box<dyn Sender>, ConfigError> {
    state.config().require(&[crate::platform::capability::Capability::SendEmail])?;
    Ok(match SenderConfig::from_env(&state.config().env)? {
        SenderConfig::Ses { from } => Box::new(Ses { client: state.sesv2().await?.clone(), from }),
        SenderConfig::Mailbox { dir, from } => Box::new(Mailbox { dir, from, clock: state.clock().clone() }),
    })
}

pub struct Ses {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl Sender for Ses {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), Cause>> {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        Box::pin(async move {
            let content = |s: &str| Content::builder().data(s).charset("UTF-8").build();
            let message = Message::builder()
                .subject(content(&email.subject)?)
                .body(Body::builder().text(content(&email.text)?).build())
                .build();
            self.client
                .send_email()
                .from_email_address(&self.from)
                .destination(Destination::builder().to_addresses(&email.to).build())
                .content(EmailContent::builder().simple(message).build())
                .send()
                .await
                // SES names the addresses it refuses; keep them out of logs and records.
                .map_err(|e| {
                    let msg = aws_sdk_sesv2::error::DisplayErrorContext(e).to_string();
                    Cause::from(msg.replace(&email.to, "<recipient>"))
                })?;
            Ok(())
        })
    }
}

/// Writes each email as an RFC 5322 `.eml` file into a folder (read them with any mail client, or
/// `cat`). The file name carries the idempotency key, so a repeat is not written twice.
pub struct Mailbox {
    pub dir: PathBuf,
    pub from: String,
    pub clock: SharedClock,
}

impl Mailbox {
    pub fn render_eml(&self, email: &Email, date: chrono::DateTime<chrono::Utc>) -> String {
        format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@gateway.local>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
            self.from,
            email.to,
            email.subject,
            date.to_rfc2822(),
            email.idempotency_key,
            email.text.replace('\n', "\r\n")
        )
    }
}

impl Sender for Mailbox {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), Cause>> {
        Box::pin(async move {
            tokio::fs::create_dir_all(&self.dir).await?;
            let key: String =
                email.idempotency_key.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            let path = self.dir.join(format!("{key}.eml"));
            if tokio::fs::try_exists(&path).await? {
                return Ok(());
            }
            let tmp = self.dir.join(format!(".{key}.tmp"));
            tokio::fs::write(&tmp, self.render_eml(email, self.clock.now())).await?;
            tokio::fs::rename(&tmp, &path).await?;
            Ok(())
        })
    }
}
