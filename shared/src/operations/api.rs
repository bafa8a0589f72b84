//! The operations routes: dead letters (platform operations only). Handlers extract, call the
//! service, audit, and map the answer; an [`Error`] becomes a problem here and nowhere else.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::identity::Principal;
use crate::operations::model::{DeadLetterQueue, Error, PurgeRequest, Purged, ReplayRequest, Replayed};
use crate::operations::service::dlq;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::state::AppState;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(errors) => ApiError::Validation(errors),
            Error::NotFound(what) => ApiError::NotFound(what),
            Error::Conflict { code, detail } => ApiError::Conflict { code, detail },
            Error::Store(e) => e.into(),
            Error::Db(e) => e.into(),
            Error::Queues(why) => ApiError::DependenciesUnavailable {
                failed: vec!["queues".into()],
                checks: serde_json::json!({ "queues": why }),
            },
            other => ApiError::internal(other),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DlqQuery {
    /// Only this function's queue (`payment-authorize`).
    pub queue: Option<String>,
    /// Messages to peek per queue, 0 to 10 (default 10).
    pub peek: Option<i32>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DlqOverview {
    pub queues: Vec<DeadLetterQueue>,
}

/// Every queue-fed function's dead-letter queue: depth, in flight, the oldest peeked message's
/// age, and messages peeked (not taken) with their envelope, tenant and order.
#[utoipa::path(get, path = "/api/v1/admin/dlq", operation_id = "dlq_list", tag = "operations",
    params(DlqQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "The dead-letter queues", body = DlqOverview),
        (status = 422, description = "A bad query", body = crate::Problem),
    ))]
pub async fn list(
    State(state): State<AppState>,
    _principal: Principal,
    ApiQuery(q): ApiQuery<DlqQuery>,
) -> Result<Json<DlqOverview>, ApiError> {
    let peek = q.peek.unwrap_or(10);
    if !(0..=10).contains(&peek) {
        return Err(ApiError::Validation(vec![crate::FieldError::new("peek", "out_of_range", "0 to 10")]));
    }
    let queues = dlq::overview(&state, q.queue.as_deref(), peek).await?;
    Ok(Json(DlqOverview { queues }))
}

/// Sends dead letters back to their source queue — one by `message_id`, `all`, or those of an
/// `event_type` and/or `older_than_seconds` — and resolves their `dead_letter` exceptions. The
/// consumer runs them again (a failed delivery never marked its event done). Audited.
#[utoipa::path(post, path = "/api/v1/admin/dlq/{queue}/replay", operation_id = "dlq_replay", tag = "operations",
    params(("queue" = String, Path, description = "The function the queue feeds (payment-authorize)")),
    request_body = ReplayRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The messages sent back", body = Replayed),
        (status = 404, description = "No such queue, or no such message in it", body = crate::Problem),
        (status = 422, description = "Not exactly one way of choosing", body = crate::Problem),
    ))]
pub async fn replay(
    State(state): State<AppState>,
    principal: Principal,
    Path(queue): Path<String>,
    ApiJson(req): ApiJson<ReplayRequest>,
) -> Result<Json<Replayed>, ApiError> {
    let (sent, stopped) = dlq::replay(&state, &queue, &req).await?;
    let replayed: Vec<String> = sent.iter().map(|m| m.message_id.clone()).collect();
    let events: Vec<_> = sent.iter().map(|m| (m.event_id, m.event_type.clone(), m.tenant_id)).collect();
    let entry = Entry::new("dlq.replayed", "queue", &queue).after(
        serde_json::json!({"queue": queue, "messages": replayed, "events": events, "stopped": stopped}),
    );
    record(&state, &principal, entry).await?;
    Ok(Json(Replayed { queue, replayed, stopped }))
}

/// Drops one dead letter for good, saying why, and resolves its `dead_letter` exception. Audited
/// (with the envelope it dropped).
#[utoipa::path(post, path = "/api/v1/admin/dlq/{queue}/purge", operation_id = "dlq_purge", tag = "operations",
    params(("queue" = String, Path, description = "The function the queue feeds (payment-authorize)")),
    request_body = PurgeRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Dropped", body = Purged),
        (status = 404, description = "No such queue, or no such message in it", body = crate::Problem),
        (status = 422, description = "A message id and a reason are needed", body = crate::Problem),
    ))]
pub async fn purge(
    State(state): State<AppState>,
    principal: Principal,
    Path(queue): Path<String>,
    ApiJson(req): ApiJson<PurgeRequest>,
) -> Result<Json<Purged>, ApiError> {
    req.check()?;
    let reason = req.reason.trim().to_owned();
    let dropped = dlq::purge(&state, &queue, req.message_id.trim(), &reason).await?;
    let entry = Entry::new("dlq.purged", "queue", &queue).after(serde_json::json!({
        "queue": queue, "message_id": dropped.message_id, "reason": reason, "envelope": dropped.envelope,
    }));
    record(&state, &principal, entry).await?;
    Ok(Json(Purged { queue, message_id: dropped.message_id, reason }))
}

async fn record(state: &AppState, principal: &Principal, entry: Entry) -> Result<(), ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    audit::record(&tx, principal, entry).await?;
    tx.commit().await?;
    Ok(())
}
