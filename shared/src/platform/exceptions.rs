//! The exceptions store (`exception_records`): what needs a person — intake holds, refused channel
//! orders, dead letters, undeliverable events, and later failed payments, stock and fulfilment.
//! Every pillar opens one with [`open`] (deduplicated per subject and kind while it is open) and
//! closes it with [`resolve`]; nothing else writes the table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::GenericClient;
use utoipa::ToSchema;
use uuid::Uuid;

use super::tenant::TenantId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }
}

/// An exception to open. `subject` names what it is about (`order/<id>/line/2`, `message/<id>`):
/// while one of the same kind and subject is open, opening it again adds nothing.
#[derive(Debug, Clone)]
pub struct NewException {
    pub tenant: Option<TenantId>,
    pub kind: String,
    /// The function or pipeline step that raised it.
    pub source: String,
    pub subject: Option<String>,
    pub severity: Severity,
    /// What went wrong, for a person.
    pub error: String,
    pub details: serde_json::Value,
    pub order_id: Option<Uuid>,
    /// Evidence of a message or event that could not be handled.
    pub message: Option<MessageEvidence>,
}

#[derive(Debug, Clone, Default)]
pub struct MessageEvidence {
    pub message_id: Option<String>,
    pub event_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub attempts: i32,
    pub payload: Option<serde_json::Value>,
}

impl NewException {
    pub fn new(
        kind: impl Into<String>,
        source: impl Into<String>,
        severity: Severity,
        error: impl Into<String>,
    ) -> Self {
        Self {
            tenant: None,
            kind: kind.into(),
            source: source.into(),
            subject: None,
            severity,
            error: error.into(),
            details: serde_json::json!({}),
            order_id: None,
            message: None,
        }
    }
    pub fn tenant(mut self, tenant: Option<TenantId>) -> Self {
        self.tenant = tenant;
        self
    }
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
    pub fn order(mut self, order: Uuid) -> Self {
        self.order_id = Some(order);
        self
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
    pub fn message(mut self, evidence: MessageEvidence) -> Self {
        self.message = Some(evidence);
        self
    }
}

/// Opens `ex` in the caller's transaction: its id, or `None` when one of the same kind and subject
/// is already open. The application role may write exceptions it may not read (dead letters): the
/// unique index on open (kind, subject) then decides, and its refusal means "already open". (No
/// `ON CONFLICT` or `RETURNING`: both need the row to be readable under row-level security.)
pub async fn open(
    client: &impl GenericClient,
    ex: &NewException,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, tokio_postgres::Error> {
    if let Some(subject) = &ex.subject {
        let open = client
            .query_opt(
                "SELECT 1 FROM exception_records WHERE kind = $1 AND subject = $2 AND status = 'open'",
                &[&ex.kind, subject],
            )
            .await?;
        if open.is_some() {
            return Ok(None);
        }
    }
    let id = Uuid::now_v7();
    let m = ex.message.clone().unwrap_or_default();
    let inserted = client
        .execute(
            "INSERT INTO exception_records (id, tenant_id, kind, source, subject, severity, status, error, details,
                                            order_id, message_id, event_id, event_type, attempts, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &id,
                &ex.tenant.map(|t| t.as_uuid()),
                &ex.kind,
                &ex.source,
                &ex.subject,
                &ex.severity.as_str(),
                &ex.error,
                &ex.details,
                &ex.order_id,
                &m.message_id,
                &m.event_id,
                &m.event_type,
                &m.attempts,
                &m.payload,
                &now,
            ],
        )
        .await;
    match inserted {
        Ok(_) => Ok(Some(id)),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Resolves the open exception `id`, saying how and (for a person) by whom. `false` if it was not
/// open.
pub async fn resolve(
    client: &impl GenericClient,
    id: Uuid,
    resolution: &str,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let n = client
        .execute(
            "UPDATE exception_records SET status = 'resolved', resolution = $2, resolved_by = $3, resolved_at = $4
              WHERE id = $1 AND status = 'open'",
            &[&id, &resolution, &by, &now],
        )
        .await?;
    Ok(n == 1)
}

/// Resolves the open exception of `kind` about `subject`, if there is one (the system resolved it:
/// what it was about moved on).
pub async fn resolve_subject(
    client: &impl GenericClient,
    kind: &str,
    subject: &str,
    resolution: &str,
    now: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let n = client
        .execute(
            "UPDATE exception_records SET status = 'resolved', resolution = $3, resolved_at = $4
              WHERE kind = $1 AND subject = $2 AND status = 'open'",
            &[&kind, &subject, &resolution, &now],
        )
        .await?;
    Ok(n == 1)
}

/// Whether an exception of `kind` about `subject` was resolved since `since` (an alert that
/// clears and comes back within its period is raised again but told about once).
pub async fn resolved_since(
    client: &impl GenericClient,
    kind: &str,
    subject: &str,
    since: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT 1 FROM exception_records WHERE kind = $1 AND subject = $2 AND status = 'resolved' AND resolved_at > $3 LIMIT 1",
            &[&kind, &subject, &since],
        )
        .await?;
    Ok(row.is_some())
}

/// An exception as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Exception {
    pub id: Uuid,
    pub kind: String,
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    pub order_id: Option<Uuid>,
    pub source: String,
    pub detail: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub resolution: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The person who resolved it (none: resolved by the system).
    #[serde(skip)]
    pub resolved_by: Option<Uuid>,
}

const SELECT: &str =
    "SELECT e.id, e.kind, e.severity, e.status, e.order_id, e.source, e.error, e.details, e.resolution,
        e.created_at, e.resolved_at, e.resolved_by
   FROM exception_records e";

fn exception(r: &tokio_postgres::Row) -> Exception {
    Exception {
        id: r.get(0),
        kind: r.get(1),
        severity: r.get(2),
        status: r.get(3),
        order_id: r.get(4),
        source: r.get(5),
        detail: r.get(6),
        details: r.get(7),
        resolution: r.get(8),
        created_at: r.get(9),
        resolved_at: r.get(10),
        resolved_by: r.get(11),
    }
}

/// What a list of exceptions is filtered by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: String,
    pub kind: Option<String>,
    pub order_id: Option<Uuid>,
    pub severity: Option<String>,
}

/// Counts by kind or age.
pub type Counts = BTreeMap<String, i64>;

/// One page (`limit + 1` rows, newest first, before `cursor`) of the tenant's exceptions, and the
/// counts by kind and by age (at `now`: `under_1h`, `1h_to_24h`, `over_24h`) of every one the
/// filter matches.
pub async fn list(
    client: &impl GenericClient,
    tenant: TenantId,
    f: &Filter,
    limit: i64,
    cursor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(Vec<Exception>, Counts, Counts), tokio_postgres::Error> {
    let filter = "e.tenant_id = $1 AND e.status = $2 AND ($3::text IS NULL OR e.kind = $3)
                  AND ($4::uuid IS NULL OR e.order_id = $4) AND ($5::text IS NULL OR e.severity = $5)";
    let rows = client
        .query(
            &format!(
                "{SELECT} WHERE {filter} AND ($6::uuid IS NULL OR e.id < $6) ORDER BY e.id DESC LIMIT $7"
            ),
            &[&tenant.as_uuid(), &f.status, &f.kind, &f.order_id, &f.severity, &cursor, &(limit + 1)],
        )
        .await?;
    let counts = client
        .query(
            &format!("SELECT e.kind, count(*) FROM exception_records e WHERE {filter} GROUP BY e.kind"),
            &[&tenant.as_uuid(), &f.status, &f.kind, &f.order_id, &f.severity],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let ages = client
        .query(
            &format!(
                "SELECT CASE WHEN e.created_at > $6::timestamptz - interval '1 hour' THEN 'under_1h'
                             WHEN e.created_at > $6::timestamptz - interval '1 day' THEN '1h_to_24h'
                             ELSE 'over_24h' END, count(*)
                   FROM exception_records e WHERE {filter} GROUP BY 1"
            ),
            &[&tenant.as_uuid(), &f.status, &f.kind, &f.order_id, &f.severity, &now],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok((rows.iter().map(exception).collect(), counts, ages))
}

/// The exception `id` (visible to the caller's role), locked when `lock`.
pub async fn get(
    client: &impl GenericClient,
    id: Uuid,
    lock: bool,
) -> Result<Option<Exception>, tokio_postgres::Error> {
    let lock = if lock { " FOR UPDATE OF e" } else { "" };
    Ok(client.query_opt(&format!("{SELECT} WHERE e.id = $1{lock}"), &[&id]).await?.map(|r| exception(&r)))
}

/// Every exception about `order`, oldest first.
pub async fn for_order(
    client: &impl GenericClient,
    order: Uuid,
) -> Result<Vec<Exception>, tokio_postgres::Error> {
    let rows = client.query(&format!("{SELECT} WHERE e.order_id = $1 ORDER BY e.id"), &[&order]).await?;
    Ok(rows.iter().map(exception).collect())
}

/// The kinds of `order`'s open exceptions (why it is held), oldest first.
pub async fn open_kinds(
    client: &impl GenericClient,
    order: Uuid,
) -> Result<Vec<String>, tokio_postgres::Error> {
    Ok(client
        .query(
            "SELECT kind FROM exception_records WHERE order_id = $1 AND status = 'open' ORDER BY id",
            &[&order],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
