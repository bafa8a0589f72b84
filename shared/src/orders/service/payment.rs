//! What the payment step may do to an order (the payments context calls these; orders never calls
//! payments): read how it is paid, record the stored method it is paid with, and move it when its
//! payment is decided. A failed payment raises an exception and tells the tenant's operations
//! contacts (setting `notifications.operations_emails`); a payment that succeeds later resolves it.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::orders::model::{Error, OrderStatus};
use crate::orders::store::orders as store;
use crate::platform::events::Envelope;
use crate::platform::exceptions::{self, NewException, Severity};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// How an order is paid, as the payment step reads it.
#[derive(Debug, Clone)]
pub struct PaymentOnFile {
    pub status: OrderStatus,
    /// `token`, `external` or `terms`.
    pub source: String,
    /// The one-time gateway token (until it is used).
    pub token: Option<String>,
    pub payment_method_id: Option<Uuid>,
    pub number: i64,
    pub total: i64,
    pub currency: String,
    pub placed_by: Option<Uuid>,
}

/// The states in which an order waits for its payment step.
pub const AWAITING_PAYMENT: [OrderStatus; 3] =
    [OrderStatus::Accepted, OrderStatus::PaymentPending, OrderStatus::PaymentFailed];

pub async fn payment_on_file(tx: &Transaction<'_>, id: Uuid) -> Result<PaymentOnFile, Error> {
    let order = store::load(tx, id, false).await?;
    Ok(PaymentOnFile {
        status: order.status,
        source: order.payment_source,
        token: store::payment_token(tx, id).await?,
        payment_method_id: order.payment_method_id,
        number: order.number,
        total: order.total,
        currency: order.currency,
        placed_by: order.placed_by,
    })
}

/// Records the stored method the order is paid with from now on (a retry's), and forgets its
/// one-time token (a token is used once).
pub async fn use_payment_method(
    tx: &Transaction<'_>,
    id: Uuid,
    method: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    Ok(store::use_payment_method(tx, id, method, now).await?)
}

/// Why a payment failed, for the exception and the email.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    pub payment_id: Option<Uuid>,
    pub decline_code: Option<String>,
    pub reason: String,
}

/// Moves an order waiting for its payment to `to` (`payment_authorized`, `payment_pending` or
/// `payment_failed`), with its history and event; the envelopes to publish after commit. An order
/// not waiting for its payment (held, cancelled, already moved on) is left as it is: `None`.
#[allow(clippy::too_many_arguments)]
pub async fn payment_decided(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    to: OrderStatus,
    reason: &str,
    failure: Option<&Failure>,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Envelope>>, Error> {
    let order = store::load(tx, id, true).await?;
    if order.status == to || !AWAITING_PAYMENT.contains(&order.status) || !order.status.can_become(to) {
        return Ok(None);
    }
    let subject = format!("order/{id}/payment");
    let mut out = Vec::new();
    match (to, failure) {
        (OrderStatus::PaymentFailed, Some(f)) => {
            let ex = NewException::new("payment_failed", "payment-authorize", Severity::Error, &f.reason)
                .tenant(Some(tenant))
                .subject(&subject)
                .order(id)
                .details(serde_json::json!({
                    "payment_id": f.payment_id, "decline_code": f.decline_code, "total": order.total,
                    "currency": order.currency,
                }));
            exceptions::open(tx, &ex, now).await?;
            out.extend(notify_operations(tx, state, tenant, order.number, f).await?);
        }
        (OrderStatus::PaymentAuthorized, _) => {
            exceptions::resolve_subject(tx, "payment_failed", &subject, "the payment was authorized", now)
                .await?;
        }
        _ => {}
    }
    let envelope =
        store::transition(tx, state, tenant, id, Some(order.status), to, reason, ("system", None), now)
            .await?;
    out.insert(0, envelope);
    Ok(Some(out))
}

/// Tells the tenant's operations contacts that a payment failed.
async fn notify_operations(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    number: i64,
    f: &Failure,
) -> Result<Vec<Envelope>, Error> {
    let code = f.decline_code.as_deref().map(|c| format!(" (code {c})")).unwrap_or_default();
    let text = format!(
        "The payment for order {number} failed{code}: {}.\n\nThe order waits in payment_failed. Retry it with a good payment method: POST /api/v1/orders/{{id}}/payment.\n",
        f.reason
    );
    let subject = format!("Payment failed for order {number}");
    Ok(crate::identity::notify_operations(tx, state.clock().as_ref(), tenant, &subject, &text).await?)
}
