//! Dead letters: every queue-fed function's dead-letter queue (`<prefix>-<function>-dlq`, found by
//! listing the stack's queues), peeked with its envelopes parsed, replayed to its source queue
//! (one message, all, or those of an event type / older than an age), one message purged. A
//! replayed or purged message's `dead_letter` exception is resolved saying so. The message keeps
//! its body on replay: its event id was never marked done (the consumer releases a failed claim),
//! so the consumer runs it again.

use std::collections::HashMap;

use aws_sdk_sqs::types::{MessageSystemAttributeName as M, QueueAttributeName as Q};
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::operations::model::{DeadLetter, DeadLetterQueue, Error, ReplayRequest};
use crate::platform::exceptions;
use crate::platform::state::AppState;

/// How long a replay or purge holds the messages it looks at (they come back after, untouched).
const HOLD_SECONDS: i32 = 30;
/// At most this many messages are looked at per call.
const SCAN_LIMIT: usize = 1000;

fn queues_error(e: impl std::fmt::Display) -> Error {
    Error::Queues(e.to_string())
}

fn sdk_error<E: std::error::Error + 'static>(e: aws_sdk_sqs::error::SdkError<E>) -> Error {
    Error::Queues(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
}

/// A dead-letter queue and the queue it came from.
struct Dlq {
    function: String,
    url: String,
    source_url: String,
}

async fn client(state: &AppState) -> Result<(&aws_sdk_sqs::Client, String), Error> {
    let prefix = state.config().queue_prefix().map_err(queues_error)?.to_owned();
    Ok((state.sqs().await.map_err(queues_error)?, prefix))
}

/// The stack's dead-letter queues, by function name.
async fn dlqs(state: &AppState) -> Result<Vec<Dlq>, Error> {
    let (sqs, prefix) = client(state).await?;
    let head = format!("{prefix}-");
    let out = sqs.list_queues().queue_name_prefix(&head).max_results(1000).send().await.map_err(sdk_error)?;
    let mut found: Vec<Dlq> = out
        .queue_urls()
        .iter()
        .filter_map(|url| {
            let name = url.rsplit('/').next()?;
            let function = name.strip_prefix(&head)?.strip_suffix("-dlq")?;
            let source_url = url.strip_suffix("-dlq")?.to_owned();
            Some(Dlq { function: function.to_owned(), url: url.clone(), source_url })
        })
        .collect();
    found.sort_by(|a, b| a.function.cmp(&b.function));
    Ok(found)
}

async fn dlq(state: &AppState, function: &str) -> Result<Dlq, Error> {
    dlqs(state)
        .await?
        .into_iter()
        .find(|d| d.function == function)
        .ok_or_else(|| Error::NotFound(format!("dead-letter queue {function:?}")))
}

/// A received message parsed: its envelope, who and what it is about.
fn parse(m: &aws_sdk_sqs::types::Message) -> DeadLetter {
    let body = m.body().unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let detail = parsed.as_ref().and_then(|v| v.get("detail")).cloned();
    let field = |k: &str| detail.as_ref().and_then(|d| d.get(k)).and_then(|v| v.as_str()).map(str::to_owned);
    let id = |k: &str| field(k).and_then(|s| s.parse::<Uuid>().ok());
    let attrs: HashMap<M, String> = m.attributes().cloned().unwrap_or_default();
    let sent_at = attrs
        .get(&M::SentTimestamp)
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    DeadLetter {
        message_id: m.message_id().unwrap_or_default().to_owned(),
        event_id: id("id"),
        event_type: field("type"),
        tenant_id: id("tenant_id"),
        order_id: detail
            .as_ref()
            .and_then(|d| d.pointer("/data/order_id"))
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok()),
        receive_count: attrs.get(&M::ApproximateReceiveCount).and_then(|c| c.parse().ok()),
        sent_at,
        envelope: detail.unwrap_or_else(|| serde_json::Value::String(body.chars().take(10_000).collect())),
    }
}

/// Every dead-letter queue (or the one of `only`): depth, in flight, the oldest peeked message's
/// age, and up to `peek` messages (0 to 10) parsed.
pub async fn overview(
    state: &AppState,
    only: Option<&str>,
    peek: i32,
) -> Result<Vec<DeadLetterQueue>, Error> {
    let (sqs, _) = client(state).await?;
    let now = state.clock().now();
    let mut out = Vec::new();
    for d in dlqs(state).await? {
        if only.is_some_and(|o| o != d.function) {
            continue;
        }
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&d.url)
            .attribute_names(Q::ApproximateNumberOfMessages)
            .attribute_names(Q::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(sdk_error)?;
        let get = |a: Q| {
            attrs.attributes().and_then(|m| m.get(&a)).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0)
        };
        let (depth, in_flight) =
            (get(Q::ApproximateNumberOfMessages), get(Q::ApproximateNumberOfMessagesNotVisible));
        let mut messages = Vec::new();
        if depth > 0 && peek > 0 {
            // Peeked without hiding them: a visibility timeout of 0.
            let got = sqs
                .receive_message()
                .queue_url(&d.url)
                .max_number_of_messages(peek.clamp(1, 10))
                .visibility_timeout(0)
                .wait_time_seconds(0)
                .message_system_attribute_names(M::All)
                .send()
                .await
                .map_err(sdk_error)?;
            let mut seen = std::collections::BTreeSet::new();
            for m in got.messages() {
                let parsed = parse(m);
                if seen.insert(parsed.message_id.clone()) {
                    messages.push(parsed);
                }
            }
        }
        let oldest = messages.iter().filter_map(|m| m.sent_at).min();
        out.push(DeadLetterQueue {
            queue: d.function,
            depth,
            in_flight,
            oldest_age_seconds: oldest.map(|t: DateTime<Utc>| (now - t).num_seconds().max(0)),
            messages,
        });
    }
    Ok(out)
}

/// Which messages a replay or purge takes.
enum Pick<'a> {
    Replay(&'a ReplayRequest),
    One(&'a str),
}

impl Pick<'_> {
    fn takes(&self, m: &DeadLetter, now: DateTime<Utc>) -> bool {
        match self {
            Pick::One(id) => m.message_id == *id,
            Pick::Replay(r) => {
                if let Some(id) = &r.message_id {
                    return m.message_id == *id;
                }
                if r.all {
                    return true;
                }
                let typed = r.event_type.as_ref().is_none_or(|t| m.event_type.as_deref() == Some(t.as_str()));
                let old = r
                    .older_than_seconds
                    .is_none_or(|s| m.sent_at.is_some_and(|at| (now - at).num_seconds() >= s));
                typed && old
            }
        }
    }
    fn single(&self) -> bool {
        matches!(self, Pick::One(_) | Pick::Replay(ReplayRequest { message_id: Some(_), .. }))
    }
}

/// How long one replay or purge goes on (an API request must answer well within its limit).
const BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// Receives the DLQ's messages (held for a while), hands each one `pick` takes on (sent to the
/// source queue when `replay`, then deleted), and lets the others go at once. The messages taken,
/// and what stopped it early, if anything (those taken so far are still reported: they moved).
async fn sweep_dlq(
    state: &AppState,
    d: &Dlq,
    pick: Pick<'_>,
    replay: bool,
) -> Result<(Vec<DeadLetter>, Option<Error>), Error> {
    let (sqs, _) = client(state).await?;
    let now = state.clock().now();
    let started = std::time::Instant::now();
    let mut taken: Vec<DeadLetter> = Vec::new();
    let mut passed = Vec::new();
    let mut scanned = 0;
    let result = async {
        while scanned < SCAN_LIMIT && started.elapsed() < BUDGET {
            // Long polling: an empty answer means the queue is empty, not that one server was.
            let got = sqs
                .receive_message()
                .queue_url(&d.url)
                .max_number_of_messages(10)
                .visibility_timeout(HOLD_SECONDS)
                .wait_time_seconds(1)
                .message_system_attribute_names(M::All)
                .send()
                .await
                .map_err(sdk_error)?;
            if got.messages().is_empty() {
                break;
            }
            for m in got.messages() {
                scanned += 1;
                let parsed = parse(m);
                let receipt = m.receipt_handle().unwrap_or_default().to_owned();
                // A message replayed by this call that failed again is not taken twice.
                let again = parsed.event_id.is_some() && taken.iter().any(|t| t.event_id == parsed.event_id);
                if again || !pick.takes(&parsed, now) {
                    passed.push(receipt);
                    continue;
                }
                if replay {
                    sqs.send_message()
                        .queue_url(&d.source_url)
                        .message_body(m.body().unwrap_or_default())
                        .send()
                        .await
                        .map_err(sdk_error)?;
                }
                sqs.delete_message()
                    .queue_url(&d.url)
                    .receipt_handle(&receipt)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                taken.push(parsed);
                if pick.single() {
                    return Ok::<(), Error>(());
                }
            }
        }
        Ok(())
    }
    .await;
    // The others go back at once, whatever happened.
    for receipt in passed {
        let back =
            sqs.change_message_visibility().queue_url(&d.url).receipt_handle(receipt).visibility_timeout(0);
        if let Err(e) = back.send().await {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "a dead letter stays hidden a while");
        }
    }
    Ok((taken, result.err()))
}

/// Resolves the `dead_letter` exceptions of `letters` (opened by the consumer on the last attempt).
async fn resolve_exceptions(
    state: &AppState,
    d: &Dlq,
    letters: &[DeadLetter],
    how: &str,
) -> Result<(), Error> {
    let ops = state.ops_db().await?;
    let conn = ops.conn().await?;
    let now = state.clock().now();
    for m in letters {
        let subject = format!("message/{}/{}", d.function, m.message_id);
        exceptions::resolve_subject(&**conn, "dead_letter", &subject, how, now).await?;
    }
    Ok(())
}

/// Sends the chosen dead letters of `function`'s queue back to it: the messages sent, and why it
/// stopped before the end, if it did (what was sent is still reported, resolved and audited).
pub async fn replay(
    state: &AppState,
    function: &str,
    req: &ReplayRequest,
) -> Result<(Vec<DeadLetter>, Option<String>), Error> {
    req.check()?;
    let d = dlq(state, function).await?;
    let (sent, stopped) = sweep_dlq(state, &d, Pick::Replay(req), true).await?;
    resolve_exceptions(state, &d, &sent, "replayed to its queue").await?;
    match stopped {
        Some(e) if sent.is_empty() => Err(e),
        Some(e) => Ok((sent, Some(e.to_string()))),
        None if req.message_id.is_some() && sent.is_empty() => Err(Error::NotFound(format!(
            "message {:?} in the dead-letter queue of {function}",
            req.message_id
        ))),
        None => Ok((sent, None)),
    }
}

/// Drops one dead letter of `function`'s queue; the message dropped.
pub async fn purge(
    state: &AppState,
    function: &str,
    message_id: &str,
    reason: &str,
) -> Result<DeadLetter, Error> {
    let d = dlq(state, function).await?;
    let (dropped, stopped) = sweep_dlq(state, &d, Pick::One(message_id), false).await?;
    let Some(m) = dropped.into_iter().next() else {
        return Err(stopped.unwrap_or_else(|| {
            Error::NotFound(format!("message {message_id:?} in the dead-letter queue of {function}"))
        }));
    };
    resolve_exceptions(state, &d, std::slice::from_ref(&m), &format!("purged: {reason}")).await?;
    Ok(m)
}
