//! SQS consumers: one generic helper turns `async fn(Delivery<T>) -> Result<(), Cause>` into a
//! Lambda SQS batch handler that reports partial batch failures.
//!
//! Per message: the EventBridge event in the body is parsed (a message that does not parse is a
//! failed item, not a failed batch); the event id is claimed in DynamoDB so a duplicate delivery is
//! ignored and a concurrent one waits; the handler runs with panics caught; on the final attempt
//! (`ApproximateReceiveCount` reaching `MAX_RECEIVE_COUNT`) a failure is recorded as an exception
//! record before SQS moves the message to the dead-letter queue.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;
use futures::FutureExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use uuid::Uuid;

use super::error::Cause;
use super::events::Envelope;
use super::state::AppState;

/// One event delivered to a consumer.
#[derive(Debug, Clone)]
pub struct Delivery<T> {
    pub message_id: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
    pub envelope: Envelope<T>,
}

/// The body SQS gets from an EventBridge rule target: the whole bus event.
#[derive(Debug, Deserialize)]
struct BusEvent<T> {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Envelope<T>,
}

/// How long a delivery holds its claim on an event before another delivery may take over.
pub const CLAIM_LEASE: Duration = Duration::seconds(60);
/// How long a processed event id is remembered (DynamoDB TTL).
pub const DEDUPE_WINDOW: Duration = Duration::days(7);

enum Claim {
    Acquired,
    AlreadyDone,
    HeldElsewhere,
}

/// Runs `handler` over a batch; returns the ids of the messages that failed.
pub async fn handle_batch<T, F, Fut>(
    state: &AppState,
    consumer: &str,
    event: SqsEvent,
    handler: F,
) -> SqsBatchResponse
where
    T: DeserializeOwned + Send,
    F: Fn(Delivery<T>) -> Fut + Sync,
    Fut: Future<Output = Result<(), Cause>> + Send,
{
    let results =
        futures::future::join_all(event.records.into_iter().map(|m| one(state, consumer, m, &handler))).await;
    let mut response = SqsBatchResponse::default();
    for (message_id, ok) in results {
        if !ok {
            response.add_failure(message_id);
        }
    }
    response
}

async fn one<T, F, Fut>(state: &AppState, consumer: &str, m: SqsMessage, handler: &F) -> (String, bool)
where
    T: DeserializeOwned + Send,
    F: Fn(Delivery<T>) -> Fut + Sync,
    Fut: Future<Output = Result<(), Cause>> + Send,
{
    let message_id = m.message_id.clone().unwrap_or_default();
    let receive_count =
        m.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1u32);
    let span = tracing::info_span!("message", consumer, message_id = %message_id, receive_count, event_id = tracing::field::Empty);
    let run = async {
        let processed = AssertUnwindSafe(process(state, consumer, &m, &message_id, receive_count, handler))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                Err(format!("handler panicked: {what}"))
            });
        match processed {
            Ok(()) => true,
            Err(error) => {
                let last = receive_count >= state.config().max_receive_count;
                tracing::warn!(error, last_attempt = last, "message failed");
                if last {
                    record_dead_letter(state, consumer, &m, &message_id, receive_count, &error).await;
                }
                false
            }
        }
    };
    let ok = run.instrument(span).await;
    (message_id, ok)
}

async fn process<T, F, Fut>(
    state: &AppState,
    consumer: &str,
    m: &SqsMessage,
    message_id: &str,
    receive_count: u32,
    handler: &F,
) -> Result<(), String>
where
    T: DeserializeOwned,
    F: Fn(Delivery<T>) -> Fut,
    Fut: Future<Output = Result<(), Cause>>,
{
    let body = m.body.as_deref().ok_or("message has no body")?;
    // serde's messages can quote values (an address, a name); say only where the body broke.
    let event: BusEvent<T> = serde_json::from_str(body).map_err(|e| {
        format!("unreadable message: {:?} error at line {} column {}", e.classify(), e.line(), e.column())
    })?;
    let event_id = event.detail.id;
    tracing::Span::current().record("event_id", tracing::field::display(event_id));
    if event.detail_type != event.detail.event_type {
        return Err(format!(
            "detail-type {} does not match the envelope's {}",
            event.detail_type, event.detail.event_type
        ));
    }
    match claim(state, consumer, event_id).await? {
        Claim::AlreadyDone => {
            tracing::info!("duplicate delivery ignored");
            return Ok(());
        }
        Claim::HeldElsewhere => return Err("another delivery of this event is being processed".into()),
        Claim::Acquired => {}
    }
    if failing_as_told(consumer) {
        finish_claim(state, consumer, event_id, false).await;
        return Err("failing every delivery, as told (GATEWAY_TEST_FAIL_CONSUMER)".into());
    }
    let delivery = Delivery { message_id: message_id.to_owned(), receive_count, envelope: event.detail };
    // A panic unwinds past this point; its claim then lapses after CLAIM_LEASE.
    match handler(delivery).await {
        Ok(()) => {
            exit_if_told(consumer);
            finish_claim(state, consumer, event_id, true).await;
            Ok(())
        }
        Err(e) => {
            finish_claim(state, consumer, event_id, false).await;
            Err(e.to_string())
        }
    }
}

fn claim_key(consumer: &str, event_id: Uuid) -> AttributeValue {
    AttributeValue::S(format!("event#{consumer}#{event_id}"))
}

/// Claims the event for this delivery with a conditional put shared by every instance.
async fn claim(state: &AppState, consumer: &str, event_id: Uuid) -> Result<Claim, String> {
    let table = state.config().idempotency_table().map_err(|e| e.to_string())?;
    let ddb = state.dynamodb().await.map_err(|e| e.to_string())?;
    let now = state.clock().now();
    let put = ddb
        .put_item()
        .table_name(table)
        .item("pk", claim_key(consumer, event_id))
        .item("status", AttributeValue::S("processing".into()))
        .item("lease_until", AttributeValue::N((now + CLAIM_LEASE).timestamp().to_string()))
        .item("expires_at", AttributeValue::N((now + DEDUPE_WINDOW).timestamp().to_string()))
        .condition_expression("attribute_not_exists(pk) OR (#s = :processing AND lease_until < :now)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":processing", AttributeValue::S("processing".into()))
        .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
        .send()
        .await;
    match put {
        Ok(_) => Ok(Claim::Acquired),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
            let item = ddb
                .get_item()
                .table_name(table)
                .key("pk", claim_key(consumer, event_id))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
            let done = item
                .item()
                .and_then(|i| i.get("status"))
                .and_then(|s| s.as_s().ok())
                .is_some_and(|s| s == "done");
            Ok(if done { Claim::AlreadyDone } else { Claim::HeldElsewhere })
        }
        Err(e) => Err(format!("dedupe store: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e))),
    }
}

/// Marks the event done, or releases the claim so the retry can take it at once.
async fn finish_claim(state: &AppState, consumer: &str, event_id: Uuid, done: bool) {
    let (Ok(table), Ok(ddb)) = (state.config().idempotency_table(), state.dynamodb().await) else { return };
    let result = if done {
        ddb.update_item()
            .table_name(table)
            .key("pk", claim_key(consumer, event_id))
            .update_expression("SET #s = :done")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":done", AttributeValue::S("done".into()))
            .send()
            .await
            .map(drop)
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
    } else {
        ddb.delete_item()
            .table_name(table)
            .key("pk", claim_key(consumer, event_id))
            .send()
            .await
            .map(drop)
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
    };
    if let Err(e) = result {
        // Done but not marked: a duplicate may run again; released but not deleted: the lease lapses.
        tracing::warn!(error = e, done, "could not update the dedupe claim");
    }
}

/// The exception record a message leaves when its final attempt fails (SQS then moves it to the
/// dead-letter queue). Never fails the batch: a record that cannot be written is logged.
async fn record_dead_letter(
    state: &AppState,
    consumer: &str,
    m: &SqsMessage,
    message_id: &str,
    attempts: u32,
    error: &str,
) {
    let body = m.body.as_deref().unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let detail = parsed.as_ref().and_then(|v| v.get("detail"));
    let event_id =
        detail.and_then(|d| d.get("id")).and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok());
    let event_type = detail.and_then(|d| d.get("type")).and_then(|v| v.as_str()).map(str::to_owned);
    let tenant =
        detail.and_then(|d| d.get("tenant_id")).and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok());
    let payload = parsed.unwrap_or_else(|| serde_json::Value::String(body.chars().take(10_000).collect()));
    let write = async {
        let db = state.db().await.map_err(|e| e.to_string())?;
        let conn = db.conn().await.map_err(|e| e.to_string())?;
        let client: &tokio_postgres::Client = &conn;
        let ex = super::exceptions::NewException::new(
            "dead_letter",
            consumer,
            super::exceptions::Severity::Error,
            error,
        )
        .tenant(tenant.map(crate::platform::tenant::TenantId::from_uuid))
        .subject(format!("message/{consumer}/{message_id}"))
        .message(super::exceptions::MessageEvidence {
            message_id: Some(message_id.to_owned()),
            event_id,
            event_type,
            attempts: attempts as i32,
            payload: Some(payload),
        });
        super::exceptions::open(client, &ex, state.clock().now()).await.map_err(|e| e.to_string())
    };
    match write.await {
        Ok(_) => tracing::error!(consumer, "message dead-lettered; exception recorded"),
        Err(e) => {
            tracing::error!(consumer, error = e, "message dead-lettered; recording the exception failed")
        }
    }
}

/// Fault injection for the crash tests: with `GATEWAY_TEST_EXIT_AFTER_HANDLER` naming this
/// consumer, the process ends the moment the handler has committed its work — before the claim is
/// marked done and before SQS hears the message was handled — as a crash there would.
fn exit_if_told(consumer: &str) {
    if std::env::var("GATEWAY_TEST_EXIT_AFTER_HANDLER").is_ok_and(|c| c == consumer) {
        tracing::warn!(consumer, "exiting after the handler, as told (GATEWAY_TEST_EXIT_AFTER_HANDLER)");
        std::process::exit(70);
    }
}

/// Fault injection for the dead-letter tests: with `GATEWAY_TEST_FAIL_CONSUMER` naming this
/// consumer, every delivery fails before its handler runs (as a step whose dependency is down).
fn failing_as_told(consumer: &str) -> bool {
    std::env::var("GATEWAY_TEST_FAIL_CONSUMER").is_ok_and(|c| c == consumer)
}
