//! What a sweep found; dead letters as an operator sees them.

use serde::Serialize;

/// One run of the stuck-order sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Orders past their state's limit.
    pub stuck: u32,
    /// Of those, exceptions raised now (the rest were open already).
    pub raised: u32,
    /// Levels that differ from their ledger.
    pub ledger_mismatches: u32,
    /// Of those, exceptions raised now.
    pub ledger_raised: u32,
    /// Platform alerts raised now (a dead-letter queue holding messages, a breaker open).
    pub alerts_raised: u32,
}

/// The sweep's failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Store(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Db(#[from] crate::platform::db::DbError),
    #[error(transparent)]
    Orders(#[from] crate::orders::Error),
    #[error(transparent)]
    Inventory(#[from] crate::inventory::Error),
    #[error("events: {0}")]
    Events(String),
    #[error("invalid input")]
    Invalid(Vec<crate::FieldError>),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the queues: {0}")]
    Queues(String),
}

/// One queue-fed function's dead-letter queue as an operator sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadLetterQueue {
    /// The function the queue feeds (`payment-authorize`): the `{queue}` of the replay and purge routes.
    pub queue: String,
    /// Messages waiting in the DLQ.
    pub depth: i64,
    /// Messages being handled (peeked or replayed) right now.
    pub in_flight: i64,
    /// Age of the oldest message peeked (seconds since it was first sent).
    pub oldest_age_seconds: Option<i64>,
    /// Up to `peek` messages, parsed.
    pub messages: Vec<DeadLetter>,
}

/// A dead-lettered message, its envelope parsed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub message_id: String,
    pub event_id: Option<uuid::Uuid>,
    pub event_type: Option<String>,
    pub tenant_id: Option<uuid::Uuid>,
    pub order_id: Option<uuid::Uuid>,
    /// How often it was delivered before it was dead-lettered (and peeked since).
    pub receive_count: Option<i64>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The event as the bus delivered it (its `detail`); the raw body when it does not parse.
    #[schema(value_type = Object)]
    pub envelope: serde_json::Value,
}

/// Which dead letters to send back to their source queue: one by id, or all of them, or those of
/// an event type and/or older than an age.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub message_id: Option<String>,
    /// `true`: every message (no other field).
    #[serde(default)]
    pub all: bool,
    pub event_type: Option<String>,
    pub older_than_seconds: Option<i64>,
}

impl ReplayRequest {
    /// Every problem at once: exactly one way of choosing.
    pub fn check(&self) -> Result<(), Error> {
        let filtered = self.event_type.is_some() || self.older_than_seconds.is_some();
        let ways = [self.message_id.is_some(), self.all, filtered].iter().filter(|w| **w).count();
        let mut errors = Vec::new();
        if ways != 1 {
            errors.push(crate::FieldError::new(
                "message_id",
                "choose_one",
                "send message_id, or all: true, or a filter (event_type and/or older_than_seconds)",
            ));
        }
        if self.older_than_seconds.is_some_and(|s| s < 0) {
            errors.push(crate::FieldError::new("older_than_seconds", "out_of_range", "0 or more"));
        }
        if self.message_id.as_deref().is_some_and(|m| m.trim().is_empty() || m.len() > 128) {
            errors.push(crate::FieldError::new("message_id", "invalid", "1 to 128 characters"));
        }
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }
}

/// What a replay sent back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Replayed {
    pub queue: String,
    pub replayed: Vec<String>,
    /// Why it stopped before the end (the queues failed, or its 20 s were up); replay again for
    /// the rest. None: every chosen message was sent back.
    pub stopped: Option<String>,
}

/// One dead letter to drop, and why (audited).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    pub message_id: String,
    pub reason: String,
}

impl PurgeRequest {
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        if self.message_id.trim().is_empty() || self.message_id.len() > 128 {
            errors.push(crate::FieldError::new("message_id", "invalid", "1 to 128 characters"));
        }
        let reason = self.reason.trim().chars().count();
        if reason == 0 || reason > 2000 {
            errors.push(crate::FieldError::new("reason", "invalid", "1 to 2000 characters"));
        }
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }
}

/// What a purge dropped.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Purged {
    pub queue: String,
    pub message_id: String,
    pub reason: String,
}
