//! The local runner's event machinery: it feeds every queue-triggered function from its queue with
//! Lambda's semantics (batch size and batching window from the template, partial batch failures;
//! the emulator's visibility timeout and redrive policy do the rest) and fires scheduled functions
//! on their schedule, which the emulator stores but never fires.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use gateway::AppState;
use gateway::registry::{QUEUE_FUNCTIONS, QueueHandler, TASK_FUNCTIONS, TaskHandler};
use tokio::task::JoinHandle;

use super::template::{Resolver, Template};

/// Handlers by binary name: the registry's, plus any a test adds for its own fragment.
#[derive(Clone)]
pub struct Handlers {
    pub queues: BTreeMap<String, QueueHandler>,
    pub tasks: BTreeMap<String, TaskHandler>,
}

impl Default for Handlers {
    fn default() -> Self {
        Self {
            queues: QUEUE_FUNCTIONS.iter().map(|f| (f.name.to_owned(), f.handler)).collect(),
            tasks: TASK_FUNCTIONS.iter().map(|f| (f.name.to_owned(), f.handler)).collect(),
        }
    }
}

/// Runtime switches: tests turn schedules off and fire functions on demand instead.
#[derive(Debug, Clone)]
pub struct Options {
    pub schedules: bool,
}

/// The running consumers and schedules; they stop when this is dropped.
pub struct Runtime {
    state: AppState,
    handlers: Handlers,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Parses `rate(N unit)`; cron schedules are not fired locally (fire them on demand).
pub fn parse_rate(expr: &str) -> Result<Duration> {
    let inner = expr
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| anyhow!("only rate(...) schedules run locally, not {expr:?}"))?;
    let (n, unit) = inner.trim().split_once(' ').ok_or_else(|| anyhow!("bad rate {expr:?}"))?;
    let n: u64 = n.parse().with_context(|| format!("bad rate {expr:?}"))?;
    let secs = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        other => bail!("bad rate unit {other:?}"),
    };
    Ok(Duration::from_secs(n * secs))
}

/// A scheduled event as EventBridge delivers it.
pub fn scheduled_event(rule: &str, region: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": uuid::Uuid::new_v4(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": super::template::LOCAL_ACCOUNT,
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": region,
        "resources": [format!("arn:aws:events:{region}:{}:rule/{rule}", super::template::LOCAL_ACCOUNT)],
        "detail": {}
    })
}

/// The state a registry function's handler gets: restricted to its declaration.
fn function_state(state: &AppState, name: &str) -> AppState {
    let task = TASK_FUNCTIONS.iter().find(|t| t.name == name).map(|t| (t.name, t.capabilities));
    let queue = QUEUE_FUNCTIONS.iter().find(|q| q.name == name).map(|q| (q.name, q.capabilities));
    match task.or(queue) {
        Some((name, caps)) => state.for_function(name, caps),
        None => state.clone(),
    }
}

impl Runtime {
    /// Starts a poller per queue-triggered function and a timer per scheduled one.
    pub async fn start(
        state: AppState,
        template: &Template,
        resolver: &Resolver<'_>,
        handlers: Handlers,
        options: &Options,
    ) -> Result<Self> {
        let sqs = state.sqs().await?.clone();
        let mut tasks = Vec::new();
        for f in template.functions()? {
            if let Some(trigger) = &f.queue {
                let handler = *handlers
                    .queues
                    .get(&f.binary)
                    .ok_or_else(|| anyhow!("{}: no queue handler named {:?}", f.logical_id, f.binary))?;
                // The registry's consumers see only what they declared and do their cold-start
                // checks, as under Lambda (a test's own consumers are not declared anywhere).
                let state = function_state(&state, &f.binary);
                if let Some(q) = QUEUE_FUNCTIONS.iter().find(|q| q.name == f.binary) {
                    (q.warm)(&state).await.map_err(|e| anyhow!("{}: {e}", f.binary))?;
                }
                if !trigger.report_batch_item_failures {
                    bail!(
                        "{}: SQS events must set FunctionResponseTypes: [ReportBatchItemFailures]",
                        f.logical_id
                    );
                }
                let queue = resolver.physical_name(&trigger.queue_logical_id)?;
                let url = sqs
                    .get_queue_url()
                    .queue_name(&queue)
                    .send()
                    .await
                    .with_context(|| format!("queue {queue} (is the stack provisioned?)"))?
                    .queue_url()
                    .unwrap_or_default()
                    .to_owned();
                let arn =
                    format!("arn:aws:sqs:{}:{}:{queue}", resolver.region, super::template::LOCAL_ACCOUNT);
                let poller = Poller {
                    state: state.clone(),
                    sqs: sqs.clone(),
                    url,
                    arn,
                    region: resolver.region.clone(),
                    batch: trigger.batch_size.clamp(1, 10_000),
                    window: Duration::from_secs(trigger.window_seconds),
                    handler,
                    name: f.binary.clone(),
                };
                tasks.push(tokio::spawn(poller.run()));
            }
            if options.schedules {
                for expr in &f.schedules {
                    let handler = *handlers
                        .tasks
                        .get(&f.binary)
                        .ok_or_else(|| anyhow!("{}: no task handler named {:?}", f.logical_id, f.binary))?;
                    let period = match parse_rate(expr) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(function = f.binary, error = %e, "schedule not fired locally; use the control endpoint");
                            continue;
                        }
                    };
                    let (state, name, region) =
                        (function_state(&state, &f.binary), f.binary.clone(), resolver.region.clone());
                    tasks.push(tokio::spawn(async move {
                        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                        loop {
                            tick.tick().await;
                            match handler(&state, scheduled_event(&name, &region)).await {
                                Ok(out) => tracing::debug!(function = name, result = %out, "scheduled run"),
                                Err(e) => {
                                    tracing::error!(function = name, error = %e, "scheduled run failed")
                                }
                            }
                        }
                    }));
                }
            }
        }
        Ok(Self { state, handlers, tasks })
    }

    /// Runs a task function now (a scheduled function fired on demand) and returns its result.
    pub async fn invoke(
        &self,
        name: &str,
        event: serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError> {
        let handler = self.handlers.tasks.get(name).ok_or_else(|| InvokeError::Unknown(name.to_owned()))?;
        handler(&function_state(&self.state, name), event).await.map_err(InvokeError::Failed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("no task function named {0:?}")]
    Unknown(String),
    #[error(transparent)]
    Failed(gateway::registry::TaskError),
}

struct Poller {
    state: AppState,
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    region: String,
    batch: usize,
    window: Duration,
    handler: QueueHandler,
    name: String,
}

impl Poller {
    async fn run(self) {
        loop {
            match self.once().await {
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(function = self.name, error = %e, "queue poll failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Receives one batch (waiting up to the batching window once a message is in hand), invokes
    /// the handler, deletes what succeeded. Failed messages stay for the visibility timeout, then
    /// come back; after maxReceiveCount the queue's redrive policy moves them to the DLQ.
    async fn once(&self) -> Result<usize> {
        let mut messages = Vec::new();
        let started = Instant::now();
        loop {
            let want = (self.batch - messages.len()).min(10) as i32;
            let wait = if messages.is_empty() { 1 } else { 0 };
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(want)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            let got = out.messages.unwrap_or_default();
            let none = got.is_empty();
            messages.extend(got);
            if messages.is_empty() {
                return Ok(0);
            }
            if messages.len() >= self.batch
                || started.elapsed() >= self.window
                || (none && self.window.is_zero())
            {
                break;
            }
            if none {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        // With a short visibility timeout a message can come back while the batching window is
        // still open; Lambda never puts one message in a batch twice, so keep its newest copy.
        let mut newest = BTreeMap::new();
        for m in messages {
            newest.insert(m.message_id.clone().unwrap_or_default(), m);
        }
        let mut receipts = BTreeMap::new();
        let mut event = SqsEvent::default();
        for m in newest.into_values() {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body.clone();
            record.md5_of_body = m.md5_of_body.clone();
            record.attributes = m
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect();
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(self.arn.clone());
            record.aws_region = Some(self.region.clone());
            if let (Some(id), Some(receipt)) = (m.message_id, m.receipt_handle) {
                receipts.insert(id, receipt);
            }
            event.records.push(record);
        }
        let count = event.records.len();
        let response = (self.handler)(&self.state, event).await;
        for failed in &response.batch_item_failures {
            receipts.remove(&failed.item_identifier);
        }
        let done: Vec<_> = receipts.into_values().collect();
        for chunk in done.chunks(10) {
            let mut req = self.sqs.delete_message_batch().queue_url(&self.url);
            for (i, receipt) in chunk.iter().enumerate() {
                req = req.entries(
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .build()?,
                );
            }
            req.send().await.map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        }
        tracing::debug!(
            function = self.name,
            count,
            failed = response.batch_item_failures.len(),
            "batch handled"
        );
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_cron_is_refused() {
        assert_eq!(parse_rate("rate(1 minute)").ok(), Some(Duration::from_secs(60)));
        assert_eq!(parse_rate("rate(6 hours)").ok(), Some(Duration::from_secs(6 * 3600)));
        assert!(parse_rate("cron(0 2 * * ? *)").is_err());
        assert!(parse_rate("rate(x minutes)").is_err());
    }
}
