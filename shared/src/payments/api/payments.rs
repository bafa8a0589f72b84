//! Payments of orders: charge (with failover), capture, void, refund, read, and the operators'
//! reconciliation view. Every POST takes an `Idempotency-Key`, namespaced per operation. What a
//! key made is kept with it in the database (on the payment, or on the attempt), so a key whose
//! gateway call was attempted never makes a second call — even after its record in the idempotency
//! store expired or its lease ran out: its retry gets the recorded answer, or the payment as the
//! gateway now says it is.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::identity::Principal;
use crate::orders::OrderStatus;
use crate::payments::model::{
    CaptureRequest, ChargeRequest, Error, Payment, PaymentFilter, Reconciliation, RefundRequest, RetryRequest,
};
use crate::payments::service::payments::{Payer, Purpose};
use crate::payments::service::step::Step;
use crate::payments::service::{
    self,
    payments::{Answer, Ctx, KeyOp},
};
use crate::platform::audit::Acting;
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::idempotency::{self, Claimed, Scope};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;

/// The idempotency store's namespace of each operation (the same names the database keeps).
fn scope(op: KeyOp) -> Scope {
    Scope(op.as_str())
}

/// Runs one payment POST under its idempotency key. A key seen before is answered from the
/// database first: what the earlier request made is found by its key (on the payment, or on the
/// attempt) and asked about — never sent again — whether the key's record replays a pending
/// answer, was lost, or its lease ran out with a dead instance. Only a request that made
/// nothing runs `work`. A finished answer is kept 24 h and replayed; a 202 is never replayed as
/// it was. The key is given back on a refusal (a retry then finds, in the database, anything that
/// was made).
async fn keyed<F, Fut>(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    (op, subject): (KeyOp, uuid::Uuid),
    fingerprint: String,
    done: StatusCode,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<Answer, Error>>,
{
    let Some(key) = idempotency::parse(headers.get("idempotency-key"))? else {
        return Err(ApiError::Validation(vec![crate::FieldError::new(
            "header:idempotency-key",
            "required",
            "every payment POST carries an Idempotency-Key (1 to 255 printable ASCII characters)",
        )]));
    };
    let scope = scope(op);
    let fp = idempotency::fingerprint(fingerprint.as_bytes());
    match idempotency::claim(state, scope, principal.tenant, &key, &fp).await? {
        Claimed::Replay(status, body) if status != 202 => {
            let mut res =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), Json(body)).into_response();
            res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(res);
        }
        Claimed::Replay(..) | Claimed::New => {}
    }
    let db = state.db().await?;
    let outcome = match service::payments::earlier(&ctx(state, db, principal), op, &key, subject).await {
        Ok(Some(answer)) => Ok(answer),
        Ok(None) => work(key.clone()).await,
        Err(e) => Err(e),
    };
    let (status, body, answer) = match outcome {
        Ok(a) => {
            let status = if a.pending { StatusCode::ACCEPTED } else { done };
            let body = serde_json::to_value(&a.payment).map_err(ApiError::internal)?;
            (status, body.clone(), Ok((status, Json(body)).into_response()))
        }
        // A decline is an answer: kept for replay like a success.
        Err(e @ Error::Declined { .. }) => {
            let e = ApiError::from(e);
            let problem = serde_json::to_value(e.to_problem()).map_err(ApiError::internal)?;
            (StatusCode::PAYMENT_REQUIRED, problem, Err(e))
        }
        Err(e) => {
            idempotency::release(state, scope, principal.tenant, &key).await;
            return Err(e.into());
        }
    };
    if let Err(e) = idempotency::finish(state, scope, principal.tenant, &key, status.as_u16(), &body).await {
        // The payment row carries the key: a retry finds it there.
        tracing::warn!(error = %e, "idempotency record not completed");
    }
    answer
}

fn ctx<'a>(state: &'a AppState, db: &'a crate::platform::db::Db, principal: &'a Principal) -> Ctx<'a> {
    Ctx { state, db, tenant: principal.tenant, actor: principal.actor() }
}

/// Charges an order through the tenant's account set: its primary gateway, then the backup when the
/// primary certainly did not process it (refused unprocessed, or its circuit breaker open) and the
/// payment method has a credential there. A decline is final (402, with its code); an unknown
/// outcome answers 202 `pending` and is never retried elsewhere. One live payment per order.
#[utoipa::path(post, path = "/api/v1/payments/charge", operation_id = "payments_charge", tag = "payments",
    security(("bearer" = [])), request_body = ChargeRequest,
    params(("Idempotency-Key" = String, Header, description = "Required; a retry with the same key never charges twice")),
    responses(
        (status = 201, description = "Authorized (`capture: false`) or captured", body = Payment),
        (status = 202, description = "Sent, outcome unknown: `pending` until the gateway is asked", body = Payment),
        (status = 402, description = "Declined: `decline_code` and `payment_id` say by whom and why", body = crate::Problem),
        (status = 404, description = "No such order", body = crate::Problem),
        (status = 409, description = "The order already has a live payment, or this key is in use", body = crate::Problem),
        (status = 422, description = "Invalid fields (every one named), a card number, or the key reused with another body", body = crate::Problem),
        (status = 503, description = "No gateway could take it (breakers open, gateways unreachable): nobody was charged", body = crate::Problem),
    ))]
pub async fn charge(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let req: ChargeRequest = crate::platform::http::parse_json(body.to_string().as_bytes())?;
    req.check()?;
    let db = state.db().await?;
    let (s, p, r) = (&state, &principal, &req);
    let subject = (KeyOp::Charge, req.order_id);
    keyed(&state, &principal, &headers, subject, body.to_string(), StatusCode::CREATED, |key| async move {
        let c = ctx(s, db, p);
        let method = match &r.payment_method {
            Some(new) => Some(Payer::Method(service::create_method(s, db, p.tenant, &c.actor, new).await?)),
            None => None,
        };
        service::payments::charge(&c, r, method, Some(&key), Purpose::Order).await
    })
    .await
}

/// Retries a failed order's payment: the order (in `payment_failed`) goes through the payment step
/// again with a new payment method — stored (`payment_method_id`) or made from one-time tokens
/// (`payment_method`) — or, with neither, the stored method on file after the customer fixed it.
/// Authorized: the order moves to `payment_authorized`; an unknown outcome: 202 and
/// `payment_pending`; declined: 402 and the order stays `payment_failed`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/payment", operation_id = "orders_payment_retry", tag = "payments",
    security(("bearer" = [])), request_body = RetryRequest,
    params(("id" = Uuid, Path, description = "The order"),
        ("Idempotency-Key" = String, Header, description = "Required; a retry with the same key never charges twice")),
    responses(
        (status = 201, description = "Authorized: the order is payment_authorized", body = Payment),
        (status = 202, description = "Sent, outcome unknown: the order is payment_pending", body = Payment),
        (status = 402, description = "Declined: `decline_code` and `payment_id` say by whom and why", body = crate::Problem),
        (status = 404, description = "No such order (or payment method)", body = crate::Problem),
        (status = 409, description = "The order is not payment_failed, or this key is in use", body = crate::Problem),
        (status = 422, description = "No payment method given and none on file, or the tokens were refused", body = crate::Problem),
        (status = 503, description = "No gateway could be reached: nothing charged", body = crate::Problem),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, "an order")?;
    let req: RetryRequest = crate::platform::http::parse_json(body.to_string().as_bytes())?;
    req.check()?;
    let db = state.db().await?;
    let (s, p, r) = (&state, &principal, &req);
    let fp = format!("retry:{id}:{body}");
    keyed(&state, &principal, &headers, (KeyOp::Charge, id), fp, StatusCode::CREATED, |key| async move {
        let c = ctx(s, db, p);
        let method = service::step::retry_method(&c, id, r, p.scope == crate::identity::Scope::Own).await?;
        match service::step::pay_order(&c, id, OrderStatus::PaymentFailed, &key, method).await? {
            Step::Charged(answer) => Ok(*answer),
            Step::Declined(e) => Err(e),
            Step::LeftAlone(status) => Err(service::step::not_failed(status)),
            Step::NoGatewayCall => Err(Error::Conflict {
                code: "invalid_state",
                detail: "the order is paid by terms or externally: it passed without a gateway call".into(),
            }),
            Step::Failed(why) => Err(Error::Unavailable(why)),
        }
    })
    .await
}

/// Captures an authorized payment, in full (no amount) or in part.
#[utoipa::path(post, path = "/api/v1/payments/{id}/capture", operation_id = "payments_capture", tag = "payments",
    security(("bearer" = [])), request_body = CaptureRequest,
    params(("id" = Uuid, Path, description = "The payment"),
        ("Idempotency-Key" = String, Header, description = "Required; a retry never captures twice")),
    responses(
        (status = 200, description = "Captured", body = Payment),
        (status = 202, description = "Sent, outcome unknown", body = Payment),
        (status = 402, description = "The gateway declined the capture", body = crate::Problem),
        (status = 404, description = "No such payment", body = crate::Problem),
        (status = 409, description = "Not authorized, or another operation on it is in flight", body = crate::Problem),
        (status = 422, description = "Amount out of range", body = crate::Problem),
        (status = 503, description = "The gateway could not be reached (or its breaker is open): nothing captured", body = crate::Problem),
    ))]
pub async fn capture(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CaptureRequest>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, "a payment")?;
    let db = state.db().await?;
    let fp = format!("{id}:{:?}", req.amount);
    let (s, p) = (&state, &principal);
    keyed(&state, &principal, &headers, (KeyOp::Capture, id), fp, StatusCode::OK, |key| async move {
        service::payments::capture(&ctx(s, db, p), id, req.amount, &key).await
    })
    .await
}

/// Voids an authorized payment before anything is captured.
#[utoipa::path(post, path = "/api/v1/payments/{id}/void", operation_id = "payments_void", tag = "payments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The payment"),
        ("Idempotency-Key" = String, Header, description = "Required")),
    responses(
        (status = 200, description = "Voided", body = Payment),
        (status = 202, description = "Sent, outcome unknown", body = Payment),
        (status = 402, description = "The gateway refused the void", body = crate::Problem),
        (status = 404, description = "No such payment", body = crate::Problem),
        (status = 409, description = "Not authorized (refund a captured payment), or busy", body = crate::Problem),
        (status = 503, description = "The gateway could not be reached: nothing voided", body = crate::Problem),
    ))]
pub async fn void(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, "a payment")?;
    let db = state.db().await?;
    let (s, p) = (&state, &principal);
    keyed(&state, &principal, &headers, (KeyOp::Void, id), id.to_string(), StatusCode::OK, |key| async move {
        service::payments::void(&ctx(s, db, p), id, &key).await
    })
    .await
}

/// Refunds a captured payment, in full (no amount) or in part. Settled captures are refunded at
/// once; an unsettled capture returned whole is voided instead; a partial refund of an unsettled
/// capture is queued (202) and sent once the gateway settles it.
#[utoipa::path(post, path = "/api/v1/payments/refund", operation_id = "payments_refund", tag = "payments",
    security(("bearer" = [])), request_body = RefundRequest,
    params(("Idempotency-Key" = String, Header, description = "Required; a retry never refunds twice")),
    responses(
        (status = 200, description = "Refunded (or voided, when nothing was settled and all was returned)", body = Payment),
        (status = 202, description = "Queued until settlement, or sent with an unknown outcome", body = Payment),
        (status = 402, description = "The gateway refused the refund", body = crate::Problem),
        (status = 404, description = "No such payment", body = crate::Problem),
        (status = 409, description = "Nothing captured, or another operation on it is in flight", body = crate::Problem),
        (status = 422, description = "Amount over what is refundable", body = crate::Problem),
        (status = 503, description = "The gateway could not be asked: nothing refunded", body = crate::Problem),
    ))]
pub async fn refund(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RefundRequest>,
) -> Result<Response, ApiError> {
    let db = state.db().await?;
    let fp = format!("{}:{:?}", req.payment_id, req.amount);
    let (s, p) = (&state, &principal);
    keyed(&state, &principal, &headers, (KeyOp::Refund, req.payment_id), fp, StatusCode::OK, |key| async move {
        service::payments::refund(&ctx(s, db, p), req.payment_id, req.amount, &key).await
    })
    .await
}

/// A payment with its attempts (each gateway call, its reference and outcome) and its history.
#[utoipa::path(get, path = "/api/v1/payments/{id}", operation_id = "payments_get", tag = "payments",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The payment")),
    responses((status = 200, description = "The payment", body = Payment),
        (status = 404, description = "No such payment", body = crate::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Payment>, ApiError> {
    let id = path_id(&id, "a payment")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    Ok(Json(service::payments::detail(&tx, id).await?))
}

/// The acting tenant's payments, newest first; filter by status, order, gateway and creation time.
#[utoipa::path(get, path = "/api/v1/payments", operation_id = "payments_list", tag = "payments",
    security(("bearer" = [])), params(PaymentFilter, PageQuery),
    responses((status = 200, description = "A page of payments", body = Page<Payment>),
        (status = 422, description = "A bad filter", body = crate::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<PaymentFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Payment>>, ApiError> {
    filter.check()?;
    let (limit, cursor) = page.parse()?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = service::payments::list(&tx, &filter, limit, cursor).await?;
    Ok(Json(Page::of(rows, limit, |p| p.id)))
}

/// What operators reconcile: attempts whose outcome is not known yet (with their age), refunds
/// waiting for settlement, discrepancies found by asking the gateways, and each merchant account's
/// circuit breaker with its recent failure rate.
#[utoipa::path(get, path = "/api/v1/admin/reconciliation", operation_id = "payments_reconciliation", tag = "payments",
    security(("bearer" = [])),
    responses((status = 200, description = "The reconciliation view", body = Reconciliation)))]
pub async fn reconciliation(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Reconciliation>, ApiError> {
    let ops = state.ops_db().await?;
    let view = service::payments::reconciliation(&state, ops).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let entry = crate::platform::audit::Entry::new("payments.reconciliation_read", "function", "payments-reconciliation")
        .after(serde_json::json!({"open_attempts": view.open_attempts.len(), "discrepancies": view.discrepancies.len()}));
    crate::platform::audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok(Json(view))
}
