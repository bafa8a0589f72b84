//! Rate limits every instance shares: a sliding window kept in DynamoDB.
//!
//! Each limited key (a tenant's route class, a login email, a client IP) counts hits per fixed
//! window in one item updated atomically (`ADD`), and the limit is checked against the sliding
//! estimate `previous × (share of the previous window still inside the sliding window) + current`.
//! A refused hit is taken back, so a client that keeps knocking while limited does not extend its
//! own wait, and `Retry-After` is the exact time until one more request fits.
//!
//! Failure policy: if DynamoDB cannot be reached the limiter fails open (the request goes on, and a
//! `rate_limiter_unavailable` error line is logged for an alarm) — except where the caller asks it
//! to fail closed (login and second factors: guessing must not become free when the limiter is down).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};

/// How many hits a key may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per_minute(max: u32) -> Self {
        Self { max, window: Duration::minutes(1) }
    }
}

/// The answer for one hit.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allowed {
        remaining: u32,
    },
    /// `first`: the first refusal of this key in this window (what the audit log records).
    Limited {
        retry_after_seconds: u64,
        first: bool,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct Unavailable(pub String);

/// The sliding estimate for `current` hits in this window and `previous` in the last one, `elapsed`
/// into this window.
fn estimate(previous: u64, current: u64, elapsed: Duration, window: Duration) -> f64 {
    let w = window.num_milliseconds().max(1) as f64;
    let left = (w - elapsed.num_milliseconds() as f64).clamp(0.0, w);
    previous as f64 * left / w + current as f64
}

/// Seconds until one more hit fits, with `current` hits accepted in this window and `previous` in
/// the last, `elapsed` into this window. Rounded up, at least 1.
pub fn retry_after(previous: u64, current: u64, max: u32, elapsed: Duration, window: Duration) -> u64 {
    let (w, e, max) =
        (window.num_milliseconds().max(1) as f64, elapsed.num_milliseconds() as f64, max as f64);
    let (p, c) = (previous as f64, current as f64);
    // Still in this window: p·(w − e − t)/w + c + 1 ≤ max.
    let in_this = if c + 1.0 <= max {
        if p == 0.0 { Some(0.0) } else { Some(((w - e) - (max - c - 1.0) * w / p).max(0.0)) }
    } else {
        None
    };
    // Otherwise in the next one, u into it: c·(w − u)/w + 1 ≤ max.
    let wait_ms = in_this.filter(|t| *t < w - e).unwrap_or_else(|| {
        let u = if c == 0.0 { 0.0 } else { (w * (1.0 - (max - 1.0) / c)).max(0.0) };
        (w - e) + u
    });
    ((wait_ms / 1000.0).ceil() as u64).max(1)
}

/// The limiter over the stack's rate-limit table.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl RateLimiter {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn add(&self, pk: &str, by: i64, expires: i64) -> Result<u64, Unavailable> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .update_expression("ADD hits :n SET expires_at = if_not_exists(expires_at, :exp)")
            .expression_attribute_values(":n", AttributeValue::N(by.to_string()))
            .expression_attribute_values(":exp", AttributeValue::N(expires.to_string()))
            .return_values(ReturnValue::UpdatedNew);
        // `ADD` is not idempotent: a retried take-back could apply twice and let one request too
        // many through, so it is never retried (a retried hit only errs on the strict side).
        let request = if by < 0 {
            request.customize().config_override(
                aws_sdk_dynamodb::config::Builder::default()
                    .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled()),
            )
        } else {
            request.customize()
        };
        let out = request
            .send()
            .await
            .map_err(|e| Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        let hits = out.attributes().and_then(|a| a.get("hits")).and_then(|v| v.as_n().ok());
        Ok(hits.and_then(|n| n.parse::<i64>().ok()).unwrap_or(0).max(0) as u64)
    }

    async fn count(&self, pk: &str) -> Result<u64, Unavailable> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        let hits = out.item().and_then(|i| i.get("hits")).and_then(|v| v.as_n().ok());
        Ok(hits.and_then(|n| n.parse::<i64>().ok()).unwrap_or(0).max(0) as u64)
    }

    /// Marks the window as having refused someone; true for the first refusal only.
    async fn first_refusal(&self, pk: &str, expires: i64) -> Result<bool, Unavailable> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk.to_owned()))
            .item("expires_at", AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(e) => Err(Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())),
        }
    }

    /// Counts one hit of `key` at `now` against `limit`.
    pub async fn hit(&self, key: &str, limit: Limit, now: DateTime<Utc>) -> Result<Decision, Unavailable> {
        let w = limit.window.num_milliseconds().max(1000);
        let now_ms = now.timestamp_millis();
        let start = now_ms - now_ms.rem_euclid(w);
        let elapsed = Duration::milliseconds(now_ms - start);
        let expires = (start + 3 * w) / 1000;
        let current_pk = format!("rl#{key}#{start}");
        // The two calls are independent: one round trip's latency, not two.
        let previous_pk = format!("rl#{key}#{}", start - w);
        let (current, previous) = tokio::join!(self.add(&current_pk, 1, expires), self.count(&previous_pk));
        let (current, previous) = (current?, previous?);
        if estimate(previous, current, elapsed, limit.window) <= f64::from(limit.max) {
            let used = estimate(previous, current, elapsed, limit.window).ceil() as u32;
            return Ok(Decision::Allowed { remaining: limit.max.saturating_sub(used) });
        }
        // Refused: take the hit back, so knocking while limited does not lengthen the wait.
        let accepted = self.add(&current_pk, -1, expires).await?;
        // Whether this is the window's first refusal only decides what gets recorded; failing to
        // tell must not turn a 429 into "unavailable".
        let first = self.first_refusal(&format!("{current_pk}#refused"), expires).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not mark the rate-limit refusal");
            false
        });
        Ok(Decision::Limited {
            retry_after_seconds: retry_after(previous, accepted, limit.max, elapsed, limit.window),
            first,
        })
    }
}

/// Default per-tenant limits, per minute, by route class (tenant settings
/// `rate_limit.read_per_minute` / `rate_limit.write_per_minute` override them).
pub const DEFAULT_READ_PER_MINUTE: u32 = 600;
pub const DEFAULT_WRITE_PER_MINUTE: u32 = 120;
/// Login (and, with MFA, second-factor) attempts per email and per client IP.
pub const LOGIN_PER_EMAIL: Limit = Limit::per_minute(10);
pub const LOGIN_PER_IP: Limit = Limit::per_minute(30);

/// What to do when DynamoDB does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenDown {
    /// Let the request through (and log for the alarm).
    Open,
    /// Refuse it (login, second factors).
    Closed,
}

/// Counts one hit of `key` for this function's stack and answers 429 (with `Retry-After` and
/// `RateLimit-*`) when the limit is spent.
pub async fn enforce(
    state: &super::state::AppState,
    key: &str,
    limit: Limit,
    when_down: WhenDown,
) -> Result<(), super::error::ApiError> {
    enforce_noting(state, key, limit, when_down).await.map_err(|(e, _)| e)
}

/// [`enforce`], also saying whether a refusal is the first of its window (`Err((error, true))`),
/// for callers that audit lockouts once rather than once per refused request.
pub async fn enforce_noting(
    state: &super::state::AppState,
    key: &str,
    limit: Limit,
    when_down: WhenDown,
) -> Result<(), (super::error::ApiError, bool)> {
    use super::error::ApiError;
    let decision = match state.config().rate_limit_table() {
        Ok(table) => match state.dynamodb().await {
            Ok(ddb) => RateLimiter::new(ddb.clone(), table).hit(key, limit, state.clock().now()).await,
            Err(e) => return Err((ApiError::internal(e), false)),
        },
        // A function that counts requests without declaring the table is a wiring mistake, not
        // an outage: never fail open on it.
        Err(e @ super::config::ConfigError::Undeclared { .. }) => return Err((ApiError::internal(e), false)),
        Err(e) => Err(Unavailable(e.to_string())),
    };
    match decision {
        Ok(Decision::Allowed { .. }) => Ok(()),
        Ok(Decision::Limited { retry_after_seconds, first }) => Err((
            ApiError::RateLimited {
                limit: limit.max,
                window_seconds: limit.window.num_seconds().max(1) as u64,
                retry_after_seconds,
            },
            first,
        )),
        Err(e) => match when_down {
            WhenDown::Open => {
                // The alarm keys on this line: limits are off while it repeats.
                tracing::error!(alarm = "rate_limiter_unavailable", error = %e, "rate limiter unavailable; failing open");
                Ok(())
            }
            WhenDown::Closed => {
                tracing::error!(alarm = "rate_limiter_unavailable", error = %e, "rate limiter unavailable; failing closed");
                Err((ApiError::RateLimiterUnavailable, false))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::minutes(1);

    #[test]
    fn the_estimate_slides_the_previous_window_out() {
        assert_eq!(estimate(10, 0, Duration::zero(), W), 10.0);
        assert_eq!(estimate(10, 2, Duration::seconds(30), W), 7.0);
        assert_eq!(estimate(10, 2, Duration::seconds(60), W), 2.0);
    }

    #[test]
    fn retry_after_is_the_time_until_one_more_fits() {
        // Full in this window, nothing before: the next window, once this one weighs max−1.
        // 10 hits at 0 s into a window, max 10: next window starts in 60 s, then c·(60−u)/60+1 ≤ 10
        // → u ≥ 6 s.
        assert_eq!(retry_after(0, 10, 10, Duration::zero(), W), 66);
        // 5 now, 10 in the previous window, 30 s in, max 10: 10·(30−t)/60 + 6 ≤ 10 → t ≥ 6 s.
        assert_eq!(retry_after(10, 5, 10, Duration::seconds(30), W), 6);
        // Room already: at least a second (the caller only asks when refused).
        assert_eq!(retry_after(0, 0, 10, Duration::zero(), W), 1);
        // Check the answer by the estimate itself: waiting that long lets one more in, a second less
        // does not.
        for (p, c, e) in [(12u64, 3u64, 10i64), (0, 10, 45), (30, 0, 5), (7, 9, 59)] {
            let max = 10;
            let t = retry_after(p, c, max, Duration::seconds(e), W) as i64;
            let fits = |t: i64| {
                let at = e + t;
                let est = if at < 60 {
                    estimate(p, c, Duration::seconds(at), W)
                } else {
                    estimate(c, 0, Duration::seconds(at - 60), W)
                };
                est + 1.0 <= f64::from(max)
            };
            assert!(fits(t), "p={p} c={c} e={e} t={t}");
            assert!(t == 1 || !fits(t - 1), "p={p} c={c} e={e} t={t} is not the earliest");
        }
    }
}
