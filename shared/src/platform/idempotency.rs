//! `Idempotency-Key` for the API's POSTs that must not run twice (`POST /api/v1/orders`, the
//! payment operations), shared by every instance through DynamoDB: the first request with a key
//! claims it (a conditional put); a duplicate while it runs gets 409; the same key with another
//! body 422; after it finished, its response is replayed for 24 hours. Keys are namespaced per
//! operation ([`Scope`]): a payment key never collides with an order key. The database backs it
//! (a unique tenant + key on what the request made), so a crash between the two stores can never
//! make a second order or payment: a retry after a lost record finds it there.

use aws_lc_rs::digest::{SHA256, digest};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;

use crate::platform::error::{ApiError, FieldError};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// How long a finished request is replayed.
pub const REPLAY_WINDOW: Duration = Duration::hours(24);
/// A claim older than this was lost with its instance (Lambda's longest run is 15 minutes).
pub const IN_FLIGHT_LEASE: Duration = Duration::minutes(15);

/// A key must be 1 to 255 printable ASCII characters.
pub fn parse(raw: Option<&http::HeaderValue>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let ok = raw
        .to_str()
        .ok()
        .filter(|s| (1..=255).contains(&s.len()) && s.bytes().all(|b| (0x21..0x7f).contains(&b)));
    ok.map(|s| Some(s.to_owned())).ok_or_else(|| {
        ApiError::Validation(vec![FieldError::new(
            "header:idempotency-key",
            "invalid",
            "1 to 255 printable ASCII characters",
        )])
    })
}

/// What the store says about a key.
#[derive(Debug)]
pub enum Claimed {
    /// Ours: run the request, then [`finish`] or [`release`].
    New,
    /// Finished earlier: its status and body.
    Replay(u16, serde_json::Value),
}

/// The operation a key belongs to: the same key sent to two operations is two keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope(pub &'static str);

impl Scope {
    pub const ORDER: Scope = Scope("order");
}

fn pk(scope: Scope, tenant: TenantId, key: &str) -> AttributeValue {
    AttributeValue::S(format!("{}-idem#{tenant}#{key}", scope.0))
}

pub fn fingerprint(body: &[u8]) -> String {
    hex(digest(&SHA256, body).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ddb_error<E: std::error::Error + Send + Sync + 'static>(
    e: aws_sdk_dynamodb::error::SdkError<E>,
) -> ApiError {
    ApiError::internal(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

/// Claims `key` for a request whose body hashes to `fingerprint`.
pub async fn claim(
    state: &AppState,
    scope: Scope,
    tenant: TenantId,
    key: &str,
    fingerprint: &str,
) -> Result<Claimed, ApiError> {
    let table = state.config().idempotency_table().map_err(ApiError::internal)?;
    let ddb = state.dynamodb().await.map_err(ApiError::internal)?;
    let now = state.clock().now();
    let put = ddb
        .put_item()
        .table_name(table)
        .item("pk", pk(scope, tenant, key))
        .item("status", AttributeValue::S("in_flight".into()))
        .item("fingerprint", AttributeValue::S(fingerprint.into()))
        .item("lease_until", AttributeValue::N((now + IN_FLIGHT_LEASE).timestamp().to_string()))
        .item("expires_at", AttributeValue::N((now + REPLAY_WINDOW).timestamp().to_string()))
        .condition_expression(
            "attribute_not_exists(pk) OR #e < :now OR (#s = :in_flight AND #l < :now AND #f = :fp)",
        )
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#e", "expires_at")
        .expression_attribute_names("#l", "lease_until")
        .expression_attribute_names("#f", "fingerprint")
        .expression_attribute_values(":in_flight", AttributeValue::S("in_flight".into()))
        .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
        .expression_attribute_values(":fp", AttributeValue::S(fingerprint.into()))
        .send()
        .await;
    match put {
        Ok(_) => Ok(Claimed::New),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
            let got = ddb
                .get_item()
                .table_name(table)
                .key("pk", pk(scope, tenant, key))
                .consistent_read(true)
                .send()
                .await
                .map_err(ddb_error)?;
            let item = got.item().cloned().unwrap_or_default();
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if text("fingerprint") != fingerprint {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "header:idempotency-key",
                    "idempotency_key_reused",
                    "this key was used with a different request body",
                )]));
            }
            if text("status") != "done" {
                return Err(ApiError::Conflict {
                    code: "request_in_progress",
                    detail: "a request with this idempotency key is still being processed; retry shortly"
                        .into(),
                });
            }
            let status = item
                .get("response_status")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(200);
            let body = serde_json::from_str(&text("response_body")).unwrap_or_default();
            Ok(Claimed::Replay(status, body))
        }
        Err(e) => Err(ddb_error(e)),
    }
}

/// Stores the response of a finished request for replay.
pub async fn finish(
    state: &AppState,
    scope: Scope,
    tenant: TenantId,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), ApiError> {
    let table = state.config().idempotency_table().map_err(ApiError::internal)?;
    state
        .dynamodb()
        .await
        .map_err(ApiError::internal)?
        .update_item()
        .table_name(table)
        .key("pk", pk(scope, tenant, key))
        .update_expression("SET #s = :done, #rs = :st, #rb = :body")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#rs", "response_status")
        .expression_attribute_names("#rb", "response_body")
        .expression_attribute_values(":done", AttributeValue::S("done".into()))
        .expression_attribute_values(":st", AttributeValue::N(status.to_string()))
        .expression_attribute_values(":body", AttributeValue::S(body.to_string()))
        .send()
        .await
        .map_err(ddb_error)?;
    Ok(())
}

/// Gives the key back after a request that changed nothing (refused), so it may be retried.
pub async fn release(state: &AppState, scope: Scope, tenant: TenantId, key: &str) {
    let (Ok(table), Ok(ddb)) = (state.config().idempotency_table(), state.dynamodb().await) else { return };
    let deleted = ddb.delete_item().table_name(table).key("pk", pk(scope, tenant, key)).send().await;
    if let Err(e) = deleted {
        tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "idempotency key not released");
    }
}
