//! Circuit breakers every instance shares: one DynamoDB item per breaker (a gateway's merchant
//! account), moved only by atomic counters and conditional writes.
//!
//! - **Closed**: every call goes through and its result is counted (`ADD`) in a per-window bucket
//!   of the item; the failure rate is the sliding estimate over this window and the last (as the
//!   rate limiter's). When a failure brings the rate to the threshold with at least the minimum
//!   number of calls, the breaker opens (a conditional write: only from closed).
//! - **Open**: calls are refused until the wait has passed on the injected clock.
//! - **Half-open**: after the wait, exactly one caller wins the probe (a conditional write from
//!   open-and-expired, or from a probe whose lease ran out); every other caller is refused while it
//!   runs. Its success closes the breaker (counters reset), its failure opens it for another wait.
//!
//! Only infrastructure failures count ([`Result::Failure`]); a gateway that answered — even with a
//! decline or a credential rejection — is reachable ([`Result::Success`] or [`Result::Ignored`]).
//! If DynamoDB cannot be reached the breaker fails open (the call goes on) and logs an alarm line.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;

/// Thresholds, window and wait (`BREAKER_*` settings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Opens at this failure rate, percent (default 50).
    pub failure_rate_percent: u32,
    /// ... once the window holds at least this many calls (default 10).
    pub minimum_calls: u32,
    /// The sliding window (default 60 s).
    pub window: Duration,
    /// How long it stays open before one probe (default 30 s).
    pub wait: Duration,
    /// How long a probe may run before another caller may probe instead (default 30 s).
    pub probe_lease: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            failure_rate_percent: 50,
            minimum_calls: 10,
            window: Duration::seconds(60),
            wait: Duration::seconds(30),
            probe_lease: Duration::seconds(30),
        }
    }
}

impl Settings {
    /// `BREAKER_FAILURE_RATE_PERCENT`, `BREAKER_MINIMUM_CALLS`, `BREAKER_WINDOW_SECONDS`,
    /// `BREAKER_WAIT_SECONDS`, `BREAKER_PROBE_LEASE_SECONDS`; each falls back to its default.
    pub fn from_env(env: &super::config::Env) -> Self {
        let d = Self::default();
        let num = |name: &str, range: std::ops::RangeInclusive<i64>| {
            env.get(name).and_then(|v| v.parse::<i64>().ok()).filter(|v| range.contains(v))
        };
        Self {
            failure_rate_percent: num("BREAKER_FAILURE_RATE_PERCENT", 1..=100)
                .map_or(d.failure_rate_percent, |v| v as u32),
            minimum_calls: num("BREAKER_MINIMUM_CALLS", 1..=10_000).map_or(d.minimum_calls, |v| v as u32),
            window: num("BREAKER_WINDOW_SECONDS", 1..=86_400).map_or(d.window, Duration::seconds),
            wait: num("BREAKER_WAIT_SECONDS", 1..=86_400).map_or(d.wait, Duration::seconds),
            probe_lease: num("BREAKER_PROBE_LEASE_SECONDS", 1..=900).map_or(d.probe_lease, Duration::seconds),
        }
    }
}

/// What the breaker lets a caller do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Closed: call, then record.
    Call,
    /// Half-open and this caller won the probe: call, then record (it decides the state).
    Probe,
    /// Open (or another caller is probing): do not call.
    Refused { until: DateTime<Utc> },
}

/// How a permitted call went, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Result {
    /// The service answered.
    Success,
    /// Connection failure, timeout, 5xx, unreadable answer.
    Failure,
    /// The service answered but refused our configuration (a bad credential): counts neither way,
    /// so one bad key cannot open a breaker; the caller raises an alert instead.
    Ignored,
}

/// A state change a call caused (what the caller logs and audits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Opened,
    Closed,
    Reopened,
}

/// A breaker as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct View {
    /// `closed`, `open` or `half_open`.
    pub state: String,
    /// When an open breaker lets one probe through.
    pub open_until: Option<DateTime<Utc>>,
    /// Calls and failures in the sliding window (estimates).
    pub calls: u64,
    pub failures: u64,
    /// Failures per call in the window, percent.
    pub failure_rate_percent: u32,
}

impl View {
    /// A breaker whose state could not be read.
    pub fn unreadable() -> Self {
        Self { state: "unreadable".into(), open_until: None, calls: 0, failures: 0, failure_rate_percent: 0 }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("circuit breaker store unavailable: {0}")]
pub struct Unavailable(pub String);

fn unavailable<E: std::error::Error + Send + Sync + 'static>(
    e: aws_sdk_dynamodb::error::SdkError<E>,
) -> Unavailable {
    Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

fn conditional<E>(e: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

type Item = std::collections::HashMap<String, AttributeValue>;

fn num(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or("closed")
}

fn ms(t: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t).single().unwrap_or_default()
}

/// The breakers of one table.
#[derive(Debug, Clone)]
pub struct Breakers {
    client: aws_sdk_dynamodb::Client,
    table: String,
    settings: Settings,
}

impl Breakers {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, settings: Settings) -> Self {
        Self { client, table: table.into(), settings }
    }

    /// The breakers of this function's stack, with the settings of its configuration.
    pub async fn of(state: &super::state::AppState) -> std::result::Result<Self, super::config::ConfigError> {
        let table = state.config().circuit_breaker_table()?.to_owned();
        let client = state.dynamodb().await?.clone();
        Ok(Self::new(client, table, Settings::from_env(&state.config().env)))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn pk(key: &str) -> AttributeValue {
        AttributeValue::S(format!("cb#{key}"))
    }

    fn window_start(&self, now: DateTime<Utc>) -> i64 {
        let w = self.settings.window.num_milliseconds().max(1000);
        let t = now.timestamp_millis();
        t - t.rem_euclid(w)
    }

    async fn read(&self, key: &str) -> std::result::Result<Item, Unavailable> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", Self::pk(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(got.item().cloned().unwrap_or_default())
    }

    /// May a call go to `key`'s service now?
    pub async fn permit(&self, key: &str, now: DateTime<Utc>) -> std::result::Result<Permit, Unavailable> {
        let item = self.read(key).await?;
        let now_ms = now.timestamp_millis();
        match text(&item, "st") {
            "open" if now_ms < num(&item, "open_until") => {
                Ok(Permit::Refused { until: ms(num(&item, "open_until")) })
            }
            "half_open" if now_ms < num(&item, "probe_until") => {
                Ok(Permit::Refused { until: ms(num(&item, "probe_until")) })
            }
            "open" | "half_open" => self.claim_probe(key, now).await,
            _ => Ok(Permit::Call),
        }
    }

    /// One caller becomes the probe: from open past its wait, or from a probe whose lease ran out.
    async fn claim_probe(&self, key: &str, now: DateTime<Utc>) -> std::result::Result<Permit, Unavailable> {
        let now_ms = now.timestamp_millis();
        let until = now_ms + self.settings.probe_lease.num_milliseconds();
        let put = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::pk(key))
            .update_expression("SET st = :half, probe_until = :until")
            .condition_expression(
                "(st = :open AND open_until <= :now) OR (st = :half AND probe_until <= :now)",
            )
            .expression_attribute_values(":half", AttributeValue::S("half_open".into()))
            .expression_attribute_values(":open", AttributeValue::S("open".into()))
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Permit::Probe),
            Err(e) if conditional(&e) => Ok(Permit::Refused { until: ms(until) }),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Gives back a probe whose call was never made: the next caller may probe at once.
    pub async fn release_probe(&self, key: &str) -> std::result::Result<(), Unavailable> {
        let put = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::pk(key))
            .update_expression("SET probe_until = :zero")
            .condition_expression("st = :half")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":half", AttributeValue::S("half_open".into()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if conditional(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Records how a permitted call went; the state change it caused, if any.
    pub async fn record(
        &self,
        key: &str,
        permit: Permit,
        result: Result,
        now: DateTime<Utc>,
    ) -> std::result::Result<Option<Transition>, Unavailable> {
        match (permit, result) {
            (Permit::Refused { .. }, _) => Ok(None),
            (Permit::Probe, Result::Failure) => {
                let reopened =
                    self.set_state(key, "open", Some("half_open"), now + self.settings.wait, false).await?;
                Ok(reopened.then_some(Transition::Reopened))
            }
            (Permit::Probe, _) => {
                let closed = self.set_state(key, "closed", Some("half_open"), now, true).await?;
                Ok(closed.then_some(Transition::Closed))
            }
            (Permit::Call, Result::Ignored) => Ok(None),
            (Permit::Call, result) => self.count(key, result == Result::Failure, now).await,
        }
    }

    /// Moves the state to `to` when it is `from` (`None`: closed or never written); `reset` clears
    /// the counters. False when another caller moved it first.
    async fn set_state(
        &self,
        key: &str,
        to: &str,
        from: Option<&str>,
        open_until: DateTime<Utc>,
        reset: bool,
    ) -> std::result::Result<bool, Unavailable> {
        let mut remove = Vec::new();
        if reset {
            let item = self.read(key).await?;
            remove.extend(item.keys().filter(|k| k.starts_with("t_") || k.starts_with("f_")).cloned());
        }
        let mut update = "SET st = :to, open_until = :until".to_owned();
        if !remove.is_empty() {
            update.push_str(" REMOVE ");
            update.push_str(&remove.join(", "));
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::pk(key))
            .update_expression(update)
            .expression_attribute_values(":to", AttributeValue::S(to.into()))
            .expression_attribute_values(
                ":until",
                AttributeValue::N(open_until.timestamp_millis().to_string()),
            );
        req = match from {
            Some(from) => req
                .condition_expression("st = :from")
                .expression_attribute_values(":from", AttributeValue::S(from.into())),
            None => req
                .condition_expression("attribute_not_exists(st) OR st = :closed")
                .expression_attribute_values(":closed", AttributeValue::S("closed".into())),
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if conditional(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Counts a call of a closed breaker; opens it when a failure crosses the threshold.
    async fn count(
        &self,
        key: &str,
        failed: bool,
        now: DateTime<Utc>,
    ) -> std::result::Result<Option<Transition>, Unavailable> {
        let start = self.window_start(now);
        let w = self.settings.window.num_milliseconds().max(1000);
        // Buckets older than the previous window are dropped as they age out.
        let stale = start - 2 * w;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::pk(key))
            .update_expression(format!("ADD t_{start} :one, f_{start} :failed REMOVE t_{stale}, f_{stale}"))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":failed", AttributeValue::N(if failed { "1" } else { "0" }.into()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable)?;
        let item = out.attributes().cloned().unwrap_or_default();
        // Buckets older still (left by sparse traffic) go too, so the item never grows.
        let older: Vec<String> = item
            .keys()
            .filter(|k| {
                k.strip_prefix("t_")
                    .or_else(|| k.strip_prefix("f_"))
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|n| n < start - w)
            })
            .cloned()
            .collect();
        if !older.is_empty() {
            let removed = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", Self::pk(key))
                .update_expression(format!("REMOVE {}", older.join(", ")))
                .send()
                .await;
            if let Err(e) = removed {
                tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "old breaker buckets not removed");
            }
        }
        if !failed {
            return Ok(None);
        }
        let (calls, failures) = self.estimate(&item, now);
        let opens = text(&item, "st") == "closed"
            && calls >= f64::from(self.settings.minimum_calls)
            && failures * 100.0 >= calls * f64::from(self.settings.failure_rate_percent);
        if opens && self.set_state(key, "open", None, now + self.settings.wait, false).await? {
            return Ok(Some(Transition::Opened));
        }
        Ok(None)
    }

    /// Calls and failures in the sliding window ending `now`.
    fn estimate(&self, item: &Item, now: DateTime<Utc>) -> (f64, f64) {
        let start = self.window_start(now);
        let w = self.settings.window.num_milliseconds().max(1000);
        let share = (w - (now.timestamp_millis() - start)).clamp(0, w) as f64 / w as f64;
        let at = |prefix: &str| {
            num(item, &format!("{prefix}_{}", start - w)) as f64 * share
                + num(item, &format!("{prefix}_{start}")) as f64
        };
        (at("t"), at("f"))
    }

    /// The breaker of `key` as the operator sees it.
    pub async fn view(&self, key: &str, now: DateTime<Utc>) -> std::result::Result<View, Unavailable> {
        let item = self.read(key).await?;
        let (calls, failures) = self.estimate(&item, now);
        let state = text(&item, "st").to_owned();
        Ok(View {
            open_until: (state != "closed").then(|| ms(num(&item, "open_until"))),
            state,
            calls: calls.round() as u64,
            failures: failures.round() as u64,
            failure_rate_percent: if calls > 0.0 { (failures * 100.0 / calls).round() as u32 } else { 0 },
        })
    }
}
