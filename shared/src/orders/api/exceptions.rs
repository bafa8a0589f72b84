//! The exceptions store's routes: what needs a person (intake holds now; payments, stock and
//! fulfilment later), with counts by kind, and resolving one.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::identity::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError};
use crate::platform::exceptions::{self, Exception};
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::PageQuery;
use crate::platform::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionFilter {
    pub kind: Option<String>,
    /// `open` (default) or `resolved`.
    pub status: Option<String>,
    pub order_id: Option<Uuid>,
    pub severity: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionPage {
    pub items: Vec<Exception>,
    pub next_cursor: Option<String>,
    /// Exceptions matching the filter (all pages), by kind.
    pub counts: BTreeMap<String, i64>,
    /// The same, by age: `under_1h`, `1h_to_24h`, `over_24h`.
    pub ages: BTreeMap<String, i64>,
}

/// One exception in full: what happened, the order's timeline, and what the operator can do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionDetail {
    #[serde(flatten)]
    pub exception: Exception,
    /// The order it is about, as it is now (none: it is about no order).
    pub order: Option<OrderTimeline>,
    /// What can be done about it now (none once it is resolved).
    pub actions: Vec<Action>,
}

/// An order's state and every change it went through, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTimeline {
    pub id: Uuid,
    pub number: i64,
    pub status: crate::orders::OrderStatus,
    pub history: Vec<crate::orders::model::HistoryEntry>,
}

/// One thing an operator can do: the request to send.
#[derive(Debug, Serialize, ToSchema)]
pub struct Action {
    /// `retry`, `resolve`, `release`, `retry_payment` or `cancel`.
    pub action: &'static str,
    pub method: &'static str,
    pub path: String,
    pub what: &'static str,
}

/// What can be done about `e` (about `order` in `status`, if it is about one).
fn actions(e: &Exception, order: Option<(Uuid, crate::orders::OrderStatus)>) -> Vec<Action> {
    use crate::orders::OrderStatus as S;
    if e.status != "open" {
        return Vec::new();
    }
    let status = order.map(|(_, s)| s);
    let order_path = order.map(|(id, _)| format!("/api/v1/orders/{id}")).unwrap_or_default();
    let exception_path = format!("/api/v1/admin/exceptions/{}", e.id);
    let redrivable = status.is_some_and(|s| {
        matches!(
            s,
            S::Accepted
                | S::PaymentPending
                | S::PaymentAuthorized
                | S::Backordered
                | S::NeedsReview
                | S::Cancelled
        )
    });
    let candidates = [
        (
            e.kind == "intake_rejected" || redrivable,
            "retry",
            "POST",
            format!("{exception_path}/retry"),
            "run the step the order waits for again (or intake, for a refused delivery)",
        ),
        (
            status == Some(S::OnHold),
            "release",
            "PATCH",
            order_path.clone(),
            "release the hold: body {\"action\": \"release\"}",
        ),
        (
            status == Some(S::PaymentFailed),
            "retry_payment",
            "POST",
            format!("{order_path}/payment"),
            "charge it again, with another payment method if needed",
        ),
        (
            status.is_some_and(|s| s.can_become(S::Cancelled)),
            "cancel",
            "PATCH",
            order_path,
            "cancel the order (its stock, money and promotions come back): body {\"action\": \"cancel\"}",
        ),
        (
            true,
            "resolve",
            "POST",
            format!("{exception_path}/resolve"),
            "mark it handled, saying how: body {\"resolution\": \"...\"}",
        ),
    ];
    candidates
        .into_iter()
        .filter(|c| c.0)
        .map(|(_, action, method, path, what)| Action { action, method, path, what })
        .collect()
}

/// The acting tenant's exceptions, newest first, with counts by kind.
#[utoipa::path(get, path = "/api/v1/admin/exceptions", operation_id = "exceptions_list", tag = "orders",
    params(ExceptionFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page and the counts", body = ExceptionPage)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<ExceptionFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ExceptionPage>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let status = f.status.clone().unwrap_or_else(|| "open".into());
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let filter = exceptions::Filter { status, kind: f.kind, order_id: f.order_id, severity: f.severity };
    let (rows, counts, ages) =
        exceptions::list(&*tx, principal.tenant, &filter, limit, cursor, principal.now).await?;
    tx.commit().await?;
    let page = crate::platform::pagination::Page::of(rows, limit, |e: &Exception| e.id);
    Ok(Json(ExceptionPage { items: page.items, next_cursor: page.next_cursor, counts, ages }))
}

/// One exception of the acting tenant in full: what happened (its details), the timeline of the
/// order it is about, and what the operator can do now (each a request to send).
#[utoipa::path(get, path = "/api/v1/admin/exceptions/{id}", operation_id = "exceptions_get", tag = "orders",
    params(("id" = Uuid, Path, description = "Exception id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The exception", body = ExceptionDetail),
        (status = 404, description = "No such exception", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ExceptionDetail>, ApiError> {
    let id = path_id(&id, "an exception")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let found = exceptions::get(&*tx, id, false).await?.ok_or_else(|| not_found(id))?;
    let order = match found.order_id {
        Some(order) => {
            let o = crate::orders::find_order(&tx, order).await?;
            let history = crate::orders::store::orders::history(&tx, order).await?;
            Some(OrderTimeline { id: o.id, number: o.number, status: o.status, history })
        }
        None => None,
    };
    tx.commit().await?;
    let actions = actions(&found, order.as_ref().map(|o| (o.id, o.status)));
    Ok(Json(ExceptionDetail { exception: found, order, actions }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    /// What was done about it.
    pub resolution: String,
}

/// Marks an exception resolved, saying how. Audited.
#[utoipa::path(post, path = "/api/v1/admin/exceptions/{id}/resolve", operation_id = "exceptions_resolve", tag = "orders",
    params(("id" = Uuid, Path, description = "Exception id")), request_body = Resolve, security(("bearer" = [])),
    responses(
        (status = 200, description = "Resolved", body = Exception),
        (status = 404, description = "No such exception", body = crate::Problem),
        (status = 409, description = "Already resolved", body = crate::Problem),
    ))]
pub async fn resolve(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Resolve>,
) -> Result<Json<Exception>, ApiError> {
    let id = path_id(&id, "an exception")?;
    let resolution = req.resolution.trim().to_owned();
    if resolution.is_empty() || resolution.chars().count() > 2000 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "resolution",
            "invalid",
            "1 to 2000 characters",
        )]));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = exceptions::get(&*tx, id, true).await?.ok_or_else(|| not_found(id))?;
    if !exceptions::resolve(&*tx, id, &resolution, Some(principal.user_id), principal.now).await? {
        return Err(ApiError::Conflict {
            code: "already_resolved",
            detail: format!("exception {id} is resolved"),
        });
    }
    let after = exceptions::get(&*tx, id, false).await?.ok_or_else(|| not_found(id))?;
    audit::record(
        &tx,
        &principal,
        Entry::new("exception.resolved", "exception", id).before(&before).after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Retries what an exception is about. A refused channel delivery (`intake_rejected`) is run
/// through intake again once its cause is fixed: the new order (201, the exception resolved) or
/// every reason it is still refused (422, it stays open). Any other exception about an order
/// re-drives the step the order waits for with a **fresh** event — `accepted` and
/// `payment_pending` the payment step (which asks the gateway about a pending payment, never
/// charging again), `payment_authorized` and `backordered` the stock step, `cancelled` the undo
/// steps, `needs_review` intake again — and answers 202 with the order; the exception resolves itself when the order moves on.
/// Safe to press twice: every step is idempotent. Audited.
#[utoipa::path(post, path = "/api/v1/admin/exceptions/{id}/retry", operation_id = "exceptions_retry", tag = "orders",
    params(("id" = Uuid, Path, description = "Exception id")), security(("bearer" = [])),
    responses(
        (status = 201, description = "A refused delivery, taken now", body = crate::orders::Order),
        (status = 202, description = "The order's step re-driven (the order as it is now)", body = crate::orders::Order),
        (status = 404, description = "No such exception", body = crate::Problem),
        (status = 409, description = "Resolved already; nothing to retry (`not_retryable`); or the order needs a person: on hold (`order_on_hold`), payment failed (`order_payment_failed`)", body = crate::Problem),
        (status = 422, description = "Still refused: every reason", body = crate::Problem),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(axum::http::StatusCode, Json<crate::orders::Order>), ApiError> {
    let id = path_id(&id, "an exception")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let actor = ("user", Some(principal.user_id));
    let found = exceptions::get(&*tx, id, true).await?.ok_or_else(|| not_found(id))?;
    if found.status != "open" {
        return Err(ApiError::Conflict {
            code: "not_retryable",
            detail: format!("exception {id} is resolved"),
        });
    }
    let (status, order_id, what, envelopes) = match (found.kind.as_str(), found.order_id) {
        ("intake_rejected", _) => {
            let (order, envelopes) = crate::orders::retry_refused_delivery(
                &state,
                &tx,
                principal.tenant,
                id,
                actor,
                principal.now,
            )
            .await?;
            (axum::http::StatusCode::CREATED, order.id, format!("taken: order {}", order.number), envelopes)
        }
        (_, Some(order)) => {
            let (what, envelopes) =
                crate::orders::redrive(&tx, &state, principal.tenant, order, actor, principal.now).await?;
            (axum::http::StatusCode::ACCEPTED, order, what, envelopes)
        }
        (kind, None) => {
            return Err(ApiError::Conflict {
                code: "not_retryable",
                detail: format!("a {kind} exception is about no order: fix its cause, then resolve it"),
            });
        }
    };
    let entry = Entry::new("exception.retried", "exception", id)
        .after(serde_json::json!({ "order_id": order_id, "done": what }));
    audit::record(&tx, &principal, entry).await?;
    let order = crate::orders::find_order(&tx, order_id).await?;
    tx.commit().await?;
    crate::platform::events::publish_committed(&state, &envelopes).await?;
    Ok((status, Json(order)))
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("exception {id}"))
}
