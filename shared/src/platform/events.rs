//! Domain events: the versioned envelope, the transactional outbox, publishing to the EventBridge
//! bus, and the relay that publishes whatever the writers left behind.
//!
//! A service records events with [`record`] inside its own transaction; after commit it calls
//! [`Publisher::publish_committed`], which puts them on the bus at once and marks them published.
//! If that fails, or the function dies first, the `outbox-relay` function publishes them within a
//! minute. Either path may publish an event twice; consumers deduplicate by event id.

use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::clock::Clock;
use super::db::{Db, DbError, scoped_tx};
use crate::platform::tenant::TenantId;

/// `source` of every event the gateway puts on its bus; rules match on it and on `detail-type`.
pub const EVENT_SOURCE: &str = "regen.gateway";
/// EventBridge accepts at most 10 entries per PutEvents.
pub const PUT_EVENTS_BATCH: usize = 10;
/// EventBridge's limit on one entry.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// Failed publishing attempts after which the relay gives up on an event and records an exception.
pub const MAX_RELAY_ATTEMPTS: i32 = 10;
/// Rows one relay run claims.
pub const RELAY_CLAIM: i64 = 100;

/// The versioned envelope every event travels in (the EventBridge `detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T = serde_json::Value> {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u32,
    pub tenant_id: Option<TenantId>,
    pub occurred_at: DateTime<Utc>,
    pub data: T,
}

/// A kind of domain event: its type name and schema version, and its data.
pub trait DomainEvent: Serialize + DeserializeOwned {
    const TYPE: &'static str;
    const VERSION: u32;
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("event data: {0}")]
    Data(#[from] serde_json::Error),
    #[error("PutEvents: {0}")]
    Publish(String),
    #[error(transparent)]
    Config(#[from] super::config::ConfigError),
}

impl From<tokio_postgres::Error> for EventError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

/// Writes `event` to the outbox inside the caller's transaction. The row commits or rolls back with
/// the change it describes. Returns the envelope to publish after commit.
pub async fn record<E: DomainEvent, C: GenericClient>(
    tx: &C,
    tenant: Option<TenantId>,
    clock: &dyn Clock,
    event: &E,
) -> Result<Envelope, EventError> {
    record_typed(tx, tenant, clock, E::TYPE, E::VERSION, event).await
}

/// [`record`] for a family of events that share one data shape and choose their type at run time
/// (the order events: the state entered names the event).
pub async fn record_typed<C: GenericClient>(
    tx: &C,
    tenant: Option<TenantId>,
    clock: &dyn Clock,
    event_type: &str,
    version: u32,
    data: &impl Serialize,
) -> Result<Envelope, EventError> {
    let envelope = Envelope {
        id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        version,
        tenant_id: tenant,
        occurred_at: clock.now(),
        data: serde_json::to_value(data)?,
    };
    tx.execute(
        "INSERT INTO outbox (id, tenant_id, event_type, event_version, occurred_at, data, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5)",
        &[
            &envelope.id,
            &envelope.tenant_id.map(|t| t.as_uuid()),
            &envelope.event_type,
            &(envelope.version as i32),
            &envelope.occurred_at,
            &envelope.data,
        ],
    )
    .await?;
    Ok(envelope)
}

/// Puts envelopes on the bus.
#[derive(Debug, Clone)]
pub struct Publisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

/// Outcome of one PutEvents call per envelope: published, or the provider's error for it.
pub type PutOutcome = Vec<(Uuid, Result<(), String>)>;

impl Publisher {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self { client, bus: bus.into() }
    }

    /// PutEvents in batches of 10. Each envelope gets its own outcome: EventBridge can refuse some
    /// entries of a batch and accept the rest.
    pub async fn put(&self, envelopes: &[Envelope]) -> Result<PutOutcome, EventError> {
        let mut outcome = Vec::with_capacity(envelopes.len());
        // An entry over EventBridge's size limit would fail its whole request on every retry; it
        // fails alone, here, instead.
        let mut sendable = Vec::with_capacity(envelopes.len());
        for e in envelopes {
            let detail = serde_json::to_string(e)?;
            if detail.len() + e.event_type.len() + EVENT_SOURCE.len() > MAX_EVENT_BYTES {
                outcome.push((e.id, Err(format!("event is larger than {MAX_EVENT_BYTES} bytes"))));
            } else {
                sendable.push((e, detail));
            }
        }
        for chunk in sendable.chunks(PUT_EVENTS_BATCH) {
            let mut req = self.client.put_events();
            for (e, detail) in chunk {
                let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(EVENT_SOURCE)
                    .detail_type(&e.event_type)
                    .detail(detail)
                    .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(
                        e.occurred_at.timestamp_millis(),
                    ))
                    .build();
                req = req.entries(entry);
            }
            match req.send().await {
                Ok(out) => {
                    for (i, (e, _)) in chunk.iter().enumerate() {
                        let entry = out.entries().get(i);
                        let result = match entry.and_then(|r| r.error_code()) {
                            None if entry.is_some() => Ok(()),
                            None => Err("no result for this entry".to_owned()),
                            Some(code) => Err(format!(
                                "{code}: {}",
                                entry.and_then(|r| r.error_message()).unwrap_or("")
                            )),
                        };
                        outcome.push((e.id, result));
                    }
                }
                Err(err) => {
                    let msg = aws_sdk_eventbridge::error::DisplayErrorContext(&err).to_string();
                    outcome.extend(chunk.iter().map(|(e, _)| (e.id, Err(msg.clone()))));
                }
            }
        }
        Ok(outcome)
    }

    /// After the writer's commit: publish at once and mark what was published, each in a
    /// transaction scoped to the event's own tenant. Never fails the caller: whatever is not marked
    /// (including platform events, which the application role cannot see) the relay publishes
    /// again later, and consumers ignore the repeat.
    pub async fn publish_committed(&self, db: &Db, envelopes: &[Envelope]) {
        if envelopes.is_empty() {
            return;
        }
        let outcome = match self.put(envelopes).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e, "publishing after commit failed; the relay will retry");
                return;
            }
        };
        let tenants: std::collections::HashMap<Uuid, TenantId> =
            envelopes.iter().filter_map(|e| Some((e.id, e.tenant_id?))).collect();
        let mut by_tenant: std::collections::BTreeMap<TenantId, Vec<Uuid>> = Default::default();
        for (id, result) in outcome {
            if let (Some(tenant), Ok(())) = (tenants.get(&id), result) {
                by_tenant.entry(*tenant).or_default().push(id);
            }
        }
        for (tenant, published) in by_tenant {
            let mark = async {
                let mut conn = db.conn().await?;
                let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
                tx.execute(
                    "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1)",
                    &[&published],
                )
                .await
                .map_err(DbError::from)?;
                tx.commit().await.map_err(DbError::from)
            };
            if let Err(e) = mark.await {
                tracing::warn!(error = %e, "marking events published failed; the relay will publish them again");
            }
        }
    }
}

/// Backoff before retry `attempts` (1-based): 30 s doubling, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 8) - 1;
    Duration::seconds((30i64 << exp).min(3600))
}

/// What one relay run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    pub published: usize,
    pub failed: usize,
}

/// The unpublished events due now, claimed with `FOR UPDATE SKIP LOCKED` so concurrent relays
/// never publish the same row in the same instant.
const CLAIM_SQL: &str = "SELECT id, tenant_id, event_type, event_version, occurred_at, data, attempts
     FROM outbox WHERE published_at IS NULL AND next_attempt_at <= $1
     ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED";

/// One relay run, as the cross-tenant role: claim due rows, publish them in batches of 10, mark the
/// published ones and schedule the rest with backoff, all in one transaction.
pub async fn relay(ops: &Db, publisher: &Publisher, clock: &dyn Clock) -> Result<RelayReport, EventError> {
    relay_with_fault(ops, publisher, clock, || Ok(())).await
}

/// [`relay`] with a fault point right after PutEvents, before anything is marked: tests make it
/// fail to show that a relay dying there republishes (and consumers ignore the repeat).
pub async fn relay_with_fault(
    ops: &Db,
    publisher: &Publisher,
    clock: &dyn Clock,
    after_put: impl FnOnce() -> Result<(), EventError>,
) -> Result<RelayReport, EventError> {
    let now = clock.now();
    let mut conn = ops.conn().await?;
    let tx = conn.transaction().await.map_err(DbError::from)?;
    let rows = tx.query(CLAIM_SQL, &[&now, &RELAY_CLAIM]).await?;
    let mut envelopes = Vec::with_capacity(rows.len());
    let mut attempts = std::collections::HashMap::new();
    for r in &rows {
        let id: Uuid = r.get(0);
        attempts.insert(id, r.get::<_, i32>(6));
        envelopes.push(Envelope {
            id,
            tenant_id: r.get::<_, Option<Uuid>>(1).map(TenantId::from_uuid),
            event_type: r.get(2),
            version: r.get::<_, i32>(3).max(1) as u32,
            occurred_at: r.get(4),
            data: r.get(5),
        });
    }
    let outcome = publisher.put(&envelopes).await?;
    after_put()?;
    let mut report = RelayReport::default();
    let mut published = Vec::new();
    for (id, result) in outcome {
        match result {
            Ok(()) => published.push(id),
            Err(error) => {
                report.failed += 1;
                let tries = attempts.get(&id).copied().unwrap_or(0) + 1;
                if tries >= MAX_RELAY_ATTEMPTS {
                    // Give up: park the row (never due again) and leave it for a person.
                    tx.execute(
                        "UPDATE outbox SET attempts = $2, last_error = $3, next_attempt_at = 'infinity' WHERE id = $1",
                        &[&id, &tries, &error],
                    )
                    .await?;
                    let envelope = envelopes.iter().find(|e| e.id == id);
                    let ex = super::exceptions::NewException::new(
                        "undeliverable_event",
                        "outbox-relay",
                        super::exceptions::Severity::Error,
                        error.clone(),
                    )
                    .tenant(envelope.and_then(|e| e.tenant_id))
                    .subject(format!("event/{id}"))
                    .message(super::exceptions::MessageEvidence {
                        event_id: Some(id),
                        event_type: envelope.map(|e| e.event_type.clone()),
                        attempts: tries,
                        ..Default::default()
                    });
                    super::exceptions::open(&*tx, &ex, now).await?;
                    tracing::error!(event_id = %id, attempts = tries, error, "relay gave up on an event");
                } else {
                    tx.execute(
                        "UPDATE outbox SET attempts = $2, last_error = $3, next_attempt_at = $4 WHERE id = $1",
                        &[&id, &tries, &error, &(now + backoff(tries))],
                    )
                    .await?;
                    tracing::warn!(event_id = %id, attempts = tries, error, "relay could not publish an event");
                }
            }
        }
    }
    tx.execute(
        "UPDATE outbox SET published_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = ANY($1)",
        &[&published, &now],
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    report.published = published.len();
    if !rows.is_empty() {
        tracing::info!(published = report.published, failed = report.failed, "outbox relay run");
    }
    Ok(report)
}

/// The publisher for the stack's bus.
pub async fn publisher(state: &super::state::AppState) -> Result<Publisher, super::config::ConfigError> {
    let bus = state.config().event_bus()?.to_owned();
    Ok(Publisher::new(state.eventbridge().await?.clone(), bus))
}

/// The one way to publish after commit: puts the committed `envelopes` on the bus at once and marks
/// them published; whatever fails stays in the outbox for the relay. Call it after `commit`.
pub async fn publish_committed(
    state: &super::state::AppState,
    envelopes: &[Envelope],
) -> Result<(), EventError> {
    if !envelopes.is_empty() {
        let db = state.db().await?;
        publisher(state).await?.publish_committed(db, envelopes).await;
    }
    Ok(())
}

/// Removes `keys` from the object `member` of a delivered event's outbox row (a sent link's
/// secret), and marks the row published: receiving the event proves it was (the writer's own mark
/// may not have landed yet), so the relay never sends the redacted copy. `false` if no row matched.
pub async fn redact_delivered(
    state: &super::state::AppState,
    tenant: TenantId,
    event: Uuid,
    member: &str,
    keys: &[String],
) -> Result<bool, EventError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = super::db::scoped_tx(&mut conn, Some(tenant), None).await?;
    let n = tx
        .execute(
            "UPDATE outbox SET data = jsonb_set(data, ARRAY[$2::text], (data->$2) - $3::text[]),
                               published_at = COALESCE(published_at, $4)
              WHERE id = $1",
            &[&event, &member, &keys, &state.clock().now()],
        )
        .await?;
    tx.commit().await?;
    Ok(n == 1)
}

/// The `outbox-relay` function.
pub async fn relay_task(
    state: &super::state::AppState,
) -> Result<serde_json::Value, crate::platform::error::TaskError> {
    let publisher = publisher(state).await?;
    let ops = state.ops_db().await?;
    let report = relay(ops, &publisher, state.clock().as_ref()).await?;
    if report.published + report.failed > 0 {
        // Cross-tenant access by the operations role is audited: one platform entry per run that
        // touched anything.
        let mut conn = ops.conn().await?;
        let tx = conn.transaction().await.map_err(DbError::from)?;
        let caller = crate::platform::http::Caller::default();
        let actor = crate::platform::audit::Actor::system(&caller);
        let entry =
            crate::platform::audit::Entry::new("outbox.relayed", "function", "outbox-relay").after(&report);
        crate::platform::audit::record_as(&tx, None, &actor, state.clock().now(), entry)
            .await
            .map_err(|e| crate::platform::error::TaskError::Other(e.to_string()))?;
        tx.commit().await.map_err(DbError::from)?;
    }
    Ok(serde_json::to_value(report).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_an_hour() {
        let secs: Vec<i64> = (1..=9).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }

    #[test]
    fn envelope_wire_shape_is_stable() {
        let e = Envelope {
            id: Uuid::nil(),
            event_type: "order.accepted".into(),
            version: 2,
            tenant_id: None,
            occurred_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            data: serde_json::json!({"order": 1}),
        };
        let v = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"id": Uuid::nil(), "type": "order.accepted", "version": 2, "tenant_id": null,
                "occurred_at": "1970-01-01T00:00:00Z", "data": {"order": 1}})
        );
    }
}
