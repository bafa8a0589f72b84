//! The payment orchestrator: charges through the account set's primary gateway, then its backup;
//! captures, voids and refunds at the gateway holding the charge; and resolves what is unknown by
//! asking that gateway.
//!
//! - Every gateway call is an attempt committed `attempted` in a transaction of its own **before**
//!   the call, then finished with its outcome in another: a crash in between leaves the evidence,
//!   and the attempt is never sent again — a retry asks the gateway about it ([`resolve`]).
//! - Failover only when the first gateway certainly did not process the charge (`NotProcessed`,
//!   or its breaker is open) and the payment method has a credential at the backup. An unknown
//!   outcome leaves the payment `pending`; a decline is final.
//! - One live payment per order and one open attempt per payment are the database's to enforce
//!   (unique indexes), so two instances cannot both charge an order or both operate on a payment.
//! - A payment's status only moves forward: every update is guarded by the status it was read in.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::payments::model::{
    Attempt, AttemptOperation, AttemptStatus, ChargeRequest, Error, Gateway, GatewayKind, GatewayTransaction,
    MerchantAccount, Money, OneTimeToken, Operation, Outcome, Payment, PaymentMethod, PaymentSource,
    PaymentStatus, Request, TransactionStatus,
};
use crate::payments::store::{self, NewPayment, PaymentChange};
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::breaker::{self, Breakers, Permit, Transition};
use crate::platform::db::{Db, scoped_tx};
use crate::platform::events::{self, Envelope};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// The schema version of every payment event's data.
pub const EVENT_VERSION: u32 = 1;

/// The data of every `payment.*` event.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentEvent {
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub status: PaymentStatus,
    pub amount: i64,
    pub currency: String,
    pub gateway: Option<crate::payments::model::GatewayKind>,
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
}

/// Who acts, for which tenant, through which pool (the app role for a request, the ops role for a
/// background job).
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub db: &'a Db,
    pub tenant: TenantId,
    pub actor: Actor<'a>,
}

/// A transaction scoped to the context's tenant.
macro_rules! tx {
    ($ctx:expr, $conn:ident) => {{
        $conn = $ctx.db.conn().await?;
        scoped_tx(&mut $conn, Some($ctx.tenant), None).await?
    }};
}

impl Ctx<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.state.clock().now()
    }

    async fn audit(&self, tx: &tokio_postgres::Transaction<'_>, entry: Entry) -> Result<(), Error> {
        audit::record_as(tx, Some(self.tenant), &self.actor, self.now(), entry).await?;
        Ok(())
    }

    async fn breakers(&self) -> Option<Breakers> {
        match Breakers::of(self.state).await {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::error!(alarm = "breaker_unavailable", error = %e, "circuit breakers not configured; calls go unguarded");
                None
            }
        }
    }

    /// May a call go to `account`? Fails open (with an alarm line) when the breaker store is down.
    async fn permit(&self, breakers: Option<&Breakers>, account: &MerchantAccount) -> Permit {
        let Some(b) = breakers else { return Permit::Call };
        match b.permit(&breaker_key(account), self.now()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(alarm = "breaker_unavailable", error = %e, "circuit breaker unreadable; failing open");
                Permit::Call
            }
        }
    }

    /// Gives back a probe that will not be used (the call was not made), so another caller may
    /// probe at once.
    async fn release(&self, breakers: Option<&Breakers>, account: &MerchantAccount, permit: Permit) {
        if let (Some(b), Permit::Probe) = (breakers, permit) {
            if let Err(e) = b.release_probe(&breaker_key(account)).await {
                tracing::error!(alarm = "breaker_unavailable", error = %e, "an unused probe was not given back");
            }
        }
    }

    /// Tells the breaker how a permitted call went.
    async fn record(
        &self,
        breakers: Option<&Breakers>,
        account: &MerchantAccount,
        permit: Permit,
        outcome: &Outcome,
    ) {
        let result = breaker_result(outcome);
        if let Outcome::NotProcessed { why, answered: true } = outcome {
            // A credential or configuration rejection: an operator must act; it never opens the
            // breaker (one bad key must not stop everyone's payments).
            tracing::error!(alarm = "gateway_configuration_rejected", gateway = %account.gateway,
                account = %account.name, why = %why, "a gateway refused our request unprocessed");
        }
        let Some(b) = breakers else { return };
        match b.record(&breaker_key(account), permit, result, self.now()).await {
            Ok(Some(t)) => {
                let level = match t {
                    Transition::Closed => "closed",
                    Transition::Opened => "opened",
                    Transition::Reopened => "reopened",
                };
                tracing::warn!(alarm = "breaker_transition", gateway = %account.gateway, account = %account.name,
                    transition = level, "circuit breaker {level}");
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(alarm = "breaker_unavailable", error = %e, "circuit breaker not updated")
            }
        }
    }
}

/// What a payment request ends in: the payment, and whether the call it made is still open (its
/// outcome unknown, or a refund queued until settlement): 202 then.
#[derive(Debug)]
pub struct Answer {
    pub payment: Payment,
    pub pending: bool,
}

/// The payment operations an Idempotency-Key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOp {
    Charge,
    Capture,
    Void,
    Refund,
}

impl KeyOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Charge => "payment-charge",
            Self::Capture => "payment-capture",
            Self::Void => "payment-void",
            Self::Refund => "payment-refund",
        }
    }
}

/// The key as an attempt carries it (a charge's is on its payment).
fn attempt_key(op: KeyOp, key: &str) -> String {
    format!("{}:{key}", op.as_str())
}

/// A charge's answer: a failed payment is its decline (402) or its failure (503).
fn charge_answer(p: Payment) -> Result<Answer, Error> {
    match (p.status, &p.decline_code) {
        (PaymentStatus::Failed, Some(code)) => Err(Error::Declined {
            payment_id: p.id,
            code: code.clone(),
            reason: p.failure_reason.clone().unwrap_or_default(),
        }),
        (PaymentStatus::Failed, None) => Err(Error::Unavailable(format!(
            "payment {} failed: {}",
            p.id,
            p.failure_reason.clone().unwrap_or_default()
        ))),
        _ => Ok(Answer { pending: p.status == PaymentStatus::Pending, payment: p }),
    }
}

/// An operation's answer, judged by the attempt it made.
fn attempt_answer(p: Payment, attempt: Uuid) -> Result<Answer, Error> {
    let a = p
        .attempts
        .iter()
        .find(|a| a.id == attempt)
        .cloned()
        .ok_or_else(|| Error::Internal("an attempt without its payment".into()))?;
    match a.status {
        AttemptStatus::Approved => Ok(Answer { payment: p, pending: false }),
        AttemptStatus::Declined => Err(Error::Declined {
            payment_id: p.id,
            code: a.code.unwrap_or_default(),
            reason: a.reason.unwrap_or_default(),
        }),
        AttemptStatus::NotProcessed => Err(Error::Unavailable(format!(
            "{} did not process the {}: {}",
            a.gateway,
            a.operation.as_str(),
            a.reason.unwrap_or_default()
        ))),
        AttemptStatus::Attempted | AttemptStatus::Unknown | AttemptStatus::Queued => {
            Ok(Answer { payment: p, pending: true })
        }
    }
}

/// What an earlier request with this key made, its open calls asked about again (never sent
/// again); `None` when it made nothing. `subject` is what this request names (the order of a
/// charge, the payment of an operation): another one with the same key is refused.
pub async fn earlier(ctx: &Ctx<'_>, op: KeyOp, key: &str, subject: Uuid) -> Result<Option<Answer>, Error> {
    let found = {
        let mut conn;
        let tx = tx!(ctx, conn);
        match op {
            KeyOp::Charge => store::payment_by_key(&tx, key).await?.map(|p| (p, None)),
            _ => store::attempt_by_key(&tx, &attempt_key(op, key)).await?.map(|(p, a)| (p, Some(a))),
        }
    };
    let Some((payment, attempt)) = found else { return Ok(None) };
    let p = resolve(ctx, payment).await?;
    let named = if op == KeyOp::Charge { p.order_id } else { p.id };
    if named != subject {
        return Err(Error::Invalid(vec![crate::FieldError::new(
            "header:idempotency-key",
            "idempotency_key_reused",
            "this key was used with a different request",
        )]));
    }
    match attempt {
        None => charge_answer(p).map(Some),
        Some(a) => attempt_answer(p, a).map(Some),
    }
}

/// The breaker guarding one merchant account.
pub fn breaker_key(account: &MerchantAccount) -> String {
    format!("{}#{}", account.gateway, account.id)
}

/// Only infrastructure failures count against a gateway.
pub fn breaker_result(outcome: &Outcome) -> breaker::Result {
    match outcome {
        Outcome::Approved(_) | Outcome::Declined { .. } => breaker::Result::Success,
        Outcome::NotProcessed { answered: true, .. } => breaker::Result::Ignored,
        Outcome::NotProcessed { answered: false, .. } | Outcome::Unknown { .. } => breaker::Result::Failure,
    }
}

/// A fresh reference for the gateway: 20 characters, unique per attempt.
fn reference() -> String {
    let hex = Uuid::new_v4().simple().to_string();
    format!("a{}", &hex[..19])
}

fn new_attempt(
    operation: AttemptOperation,
    account: &MerchantAccount,
    amount: i64,
    status: AttemptStatus,
    now: DateTime<Utc>,
) -> Attempt {
    Attempt {
        id: Uuid::now_v7(),
        operation,
        gateway: account.gateway,
        merchant_account_id: account.id,
        amount,
        reference: reference(),
        status,
        transaction_id: None,
        code: None,
        reason: None,
        created_at: now,
        finished_at: None,
    }
}

/// What a call (or asking the gateway about one) settled.
#[derive(Debug, Clone)]
enum Resolved {
    Approved { transaction_id: Option<String> },
    Declined { code: String, reason: String },
    NotProcessed { why: String },
    Unknown { why: String },
}

impl From<&Outcome> for Resolved {
    fn from(o: &Outcome) -> Self {
        match o {
            Outcome::Approved(a) => Resolved::Approved { transaction_id: a.transaction_id.clone() },
            Outcome::Declined { code, reason } => {
                Resolved::Declined { code: code.clone(), reason: reason.clone() }
            }
            Outcome::NotProcessed { why, .. } => Resolved::NotProcessed { why: why.clone() },
            Outcome::Unknown { why } => Resolved::Unknown { why: why.clone() },
        }
    }
}

/// The accounts a tenant is charged through, primary first (enabled ones only), and their set.
pub async fn routes(
    tx: &tokio_postgres::Transaction<'_>,
    tenant: Uuid,
) -> Result<(Option<Uuid>, Vec<MerchantAccount>), Error> {
    let set = match store::assigned_set(tx, tenant).await? {
        Some(s) => Some(s),
        None => store::default_set(tx).await?,
    };
    let Some(set) = set else { return Ok((None, Vec::new())) };
    let mut ids = [set.nmi_account_id, set.authorize_net_account_id];
    if set.primary_gateway == crate::payments::model::GatewayKind::AuthorizeNet {
        ids.reverse();
    }
    let mut accounts = Vec::new();
    for id in ids.into_iter().flatten() {
        accounts.extend(store::account_by_id(tx, id).await?.filter(|a| a.enabled));
    }
    Ok((Some(set.id), accounts))
}

/// A payment with its attempts and history.
pub async fn detail(tx: &tokio_postgres::Transaction<'_>, id: Uuid) -> Result<Payment, Error> {
    let mut p =
        store::payment_by_id(tx, id, false).await?.ok_or_else(|| Error::NotFound("the payment".into()))?;
    p.attempts = store::attempts(tx, id).await?;
    p.history = store::history(tx, id).await?;
    Ok(p)
}

async fn load(ctx: &Ctx<'_>, id: Uuid) -> Result<Payment, Error> {
    let mut conn;
    let tx = tx!(ctx, conn);
    detail(&tx, id).await
}

/// What a charge is paid with.
pub enum Payer {
    /// A stored payment method (its vault credentials, one per gateway: failover possible).
    Method(PaymentMethod),
    /// An order's one-time gateway token: good once, at one gateway only (the set's primary), so
    /// never sent elsewhere.
    Token(OneTimeToken),
}

impl Payer {
    fn method_id(&self) -> Option<Uuid> {
        match self {
            Self::Method(m) => Some(m.id),
            Self::Token(_) => None,
        }
    }

    /// What pays at `account` (the `first` account tried), or why nothing does.
    fn source_at(&self, account: &MerchantAccount, first: bool) -> Result<PaymentSource, &'static str> {
        match self {
            Self::Method(m) => m
                .credentials
                .iter()
                .find(|c| c.gateway() == account.gateway)
                .map(|c| c.source())
                .ok_or("the payment method has no credential there"),
            Self::Token(t) if first => Ok(match account.gateway {
                GatewayKind::Nmi => PaymentSource::NmiToken(t.clone()),
                GatewayKind::AuthorizeNet => PaymentSource::AuthorizeNetOpaque(t.clone()),
            }),
            Self::Token(_) => Err("a one-time token is good at one gateway only"),
        }
    }
}

/// What a payment is for (`payments.purpose`): only an `order` payment is the order's one live
/// payment; a `shipment` sale charges a later shipment beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Order,
    Shipment,
    Reauthorization,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Shipment => "shipment",
            Self::Reauthorization => "reauthorization",
        }
    }
}

/// Charges an order: the payment is made `pending` with its first attempt, then the gateways are
/// tried in order. `key` is the request's Idempotency-Key, kept on the payment ([`earlier`] finds
/// it: a retry asks the gateway instead of charging again).
pub async fn charge(
    ctx: &Ctx<'_>,
    req: &ChargeRequest,
    payer: Option<Payer>,
    key: Option<&str>,
    purpose: Purpose,
) -> Result<Answer, Error> {
    let (order, set_id, accounts, stored) = {
        let mut conn;
        let tx = tx!(ctx, conn);
        let order = crate::orders::find_order(&tx, req.order_id).await?;
        if order.status == crate::orders::OrderStatus::Cancelled {
            return Err(Error::Conflict {
                code: "order_cancelled",
                detail: "a cancelled order is not charged".into(),
            });
        }
        if let Some(live) = store::live_payment(&tx, order.id).await?.filter(|_| purpose == Purpose::Order) {
            return Err(Error::Conflict {
                code: "order_has_live_payment",
                detail: format!(
                    "the order already has a live payment ({live}); capture, void or refund it instead"
                ),
            });
        }
        let (set_id, accounts) = routes(&tx, ctx.tenant.as_uuid()).await?;
        let stored = super::named_method(&tx, req.payment_method_id).await?;
        (order, set_id, accounts, stored)
    };
    let amount = req.amount.unwrap_or(order.total);
    if amount > order.total {
        return Err(Error::Invalid(vec![crate::FieldError::new(
            "amount",
            "out_of_range",
            format!("at most the order's total, {}", order.total),
        )]));
    }
    let money = Money::new(amount, &order.currency).map_err(|_| {
        Error::Invalid(vec![crate::FieldError::new(
            "amount",
            "out_of_range",
            format!(
                "1 to {} minor units of {} (the order's total is {})",
                crate::payments::MAX_AMOUNT,
                order.currency,
                order.total
            ),
        )])
    })?;
    if accounts.is_empty() {
        return Err(Error::Unavailable("no enabled merchant account charges this tenant".into()));
    }
    let payer = stored
        .map(Payer::Method)
        .or(payer)
        .ok_or_else(|| Error::Internal("a charge without a payment method".into()))?;
    let intent = if req.capture { AttemptOperation::Sale } else { AttemptOperation::Authorize };
    let payment_id = Uuid::now_v7();
    let breakers = ctx.breakers().await;
    let mut created = false;
    let mut skipped = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let source = match payer.source_at(account, i == 0) {
            Ok(source) => source,
            Err(why) => {
                skipped.push(format!("{}: {why}", account.gateway));
                continue;
            }
        };
        let permit = ctx.permit(breakers.as_ref(), account).await;
        if let Permit::Refused { until } = permit {
            skipped.push(format!("{}: its circuit breaker is open until {until}", account.gateway));
            continue;
        }
        let client = match super::gateway(ctx.state, account).await {
            Ok(c) => c,
            Err(e) => {
                ctx.release(breakers.as_ref(), account, permit).await;
                tracing::error!(alarm = "gateway_configuration_rejected", account = %account.name, error = %e,
                    "a merchant account's client could not be made");
                skipped.push(format!("{}: the merchant account is misconfigured", account.gateway));
                continue;
            }
        };
        let attempt = new_attempt(intent, account, amount, AttemptStatus::Attempted, ctx.now());
        // Write-ahead: the payment (first time) and the attempt, committed before the call.
        let written = async {
            let mut conn;
            let tx = tx!(ctx, conn);
            if !created {
                let new = NewPayment {
                    id: payment_id,
                    tenant: ctx.tenant.as_uuid(),
                    order_id: order.id,
                    intent,
                    amount,
                    currency: &order.currency,
                    payment_method_id: payer.method_id(),
                    account_set_id: set_id,
                    idempotency_key: key,
                    purpose: purpose.as_str(),
                    now: ctx.now(),
                };
                store::insert_payment(&tx, &new).await?;
                store::insert_history(&tx, new.tenant, payment_id, None, PaymentStatus::Pending, "charge requested", new.now)
                    .await?;
                let entry = Entry::new("payment.charge_requested", "payment", payment_id)
                    .after(serde_json::json!({"order_id": order.id, "amount": amount, "currency": order.currency, "intent": intent}));
                ctx.audit(&tx, entry).await?;
            }
            store::insert_attempt(&tx, ctx.tenant.as_uuid(), payment_id, &attempt, None).await?;
            let entry = Entry::new("payment.attempt_written", "payment", payment_id).after(serde_json::json!({
                "attempt_id": attempt.id, "operation": intent, "gateway": account.gateway, "reference": attempt.reference
            }));
            ctx.audit(&tx, entry).await?;
            tx.commit().await?;
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = written {
            ctx.release(breakers.as_ref(), account, permit).await;
            return Err(e);
        }
        created = true;
        let billing = Default::default();
        let operation = match intent {
            AttemptOperation::Sale => Operation::Sale { source, amount: money, billing },
            _ => Operation::Authorize { source, amount: money, billing },
        };
        let outcome = client.execute(&Request { reference: attempt.reference.clone(), operation }).await;
        let resolved = Resolved::from(&outcome);
        let (_, applied) = tokio::join!(
            ctx.record(breakers.as_ref(), account, permit, &outcome),
            apply(ctx, payment_id, &attempt, resolved.clone())
        );
        let payment = applied?;
        match resolved {
            Resolved::NotProcessed { why } => {
                skipped.push(format!("{}: not processed ({why})", account.gateway));
                continue;
            }
            Resolved::Declined { code, reason } => return Err(Error::Declined { payment_id, code, reason }),
            Resolved::Approved { .. } | Resolved::Unknown { .. } => return charge_answer(payment),
        }
    }
    let why = skipped.join("; ");
    if !created {
        return Err(Error::Unavailable(format!("nothing was sent: {why}")));
    }
    // Every gateway certainly refused it unprocessed: the payment failed, nobody was charged.
    fail(ctx, payment_id, &why).await?;
    Err(Error::Unavailable(format!("payment {payment_id} failed; no gateway processed it: {why}")))
}

/// Marks a pending payment failed (no gateway processed it).
async fn fail(ctx: &Ctx<'_>, id: Uuid, why: &str) -> Result<Payment, Error> {
    let mut envelopes = Vec::new();
    let after = {
        let mut conn;
        let tx = tx!(ctx, conn);
        let p = store::payment_by_id(&tx, id, true)
            .await?
            .ok_or_else(|| Error::NotFound("the payment".into()))?;
        if p.status.may_become(PaymentStatus::Failed) {
            let change = PaymentChange {
                status: Some(PaymentStatus::Failed),
                failure_reason: Some(why),
                ..Default::default()
            };
            moved(ctx, &tx, &p, &change, "no gateway processed the charge", &mut envelopes).await?;
        }
        let after = detail(&tx, id).await?;
        tx.commit().await?;
        after
    };
    // The connection is back in the pool before the events go out (publishing takes one).
    publish(ctx, &envelopes).await;
    Ok(after)
}

/// Applies `change` to `p` (guarded by its status), with its history, audit entry and event.
async fn moved(
    ctx: &Ctx<'_>,
    tx: &tokio_postgres::Transaction<'_>,
    p: &Payment,
    change: &PaymentChange<'_>,
    reason: &str,
    envelopes: &mut Vec<Envelope>,
) -> Result<bool, Error> {
    let now = ctx.now();
    if !store::change_payment(tx, p.id, p.status, change, now).await? {
        return Ok(false);
    }
    let to = change.status.unwrap_or(p.status);
    store::insert_history(tx, ctx.tenant.as_uuid(), p.id, Some(p.status), to, reason, now).await?;
    let after =
        store::payment_by_id(tx, p.id, false).await?.ok_or_else(|| Error::NotFound("the payment".into()))?;
    let action = to.event().unwrap_or("payment.updated");
    ctx.audit(tx, Entry::new(action, "payment", p.id).before(p).after(&after)).await?;
    if let Some(kind) = to.event() {
        let data = PaymentEvent {
            payment_id: after.id,
            order_id: after.order_id,
            status: after.status,
            amount: after.amount,
            currency: after.currency.clone(),
            gateway: after.gateway,
            authorized: after.authorized,
            captured: after.captured,
            refunded: after.refunded,
            decline_code: after.decline_code.clone(),
        };
        let e = events::record_typed(
            tx,
            Some(ctx.tenant),
            ctx.state.clock().as_ref(),
            kind,
            EVENT_VERSION,
            &data,
        )
        .await?;
        envelopes.push(e);
    }
    order_follows(ctx, tx, &after, envelopes).await?;
    Ok(true)
}

/// Moves an order after its live payment, if it has one (one made outside the payment step: by
/// hand, or while the order was held); that payment.
pub(super) async fn follow_live(ctx: &Ctx<'_>, order_id: Uuid) -> Result<Option<Payment>, Error> {
    let mut envelopes = Vec::new();
    let live = {
        let mut conn;
        let tx = tx!(ctx, conn);
        let live = match store::live_payment(&tx, order_id).await? {
            Some(id) => Some(detail(&tx, id).await?),
            None => None,
        };
        if let Some(p) = &live {
            order_follows(ctx, &tx, p, &mut envelopes).await?;
        }
        tx.commit().await?;
        live
    };
    publish(ctx, &envelopes).await;
    Ok(live)
}

/// The order follows its payment, in the payment's transaction: authorized (or captured) →
/// `payment_authorized`; outcome unknown → `payment_pending`; failed → `payment_failed` (with an
/// exception and an email to the tenant's operations contacts). Only the order's own payment
/// moves it, and only while the order waits for its payment.
pub(super) async fn order_follows(
    ctx: &Ctx<'_>,
    tx: &tokio_postgres::Transaction<'_>,
    p: &Payment,
    envelopes: &mut Vec<Envelope>,
) -> Result<(), Error> {
    use crate::orders::OrderStatus as O;
    if p.purpose != Purpose::Order.as_str() {
        return Ok(());
    }
    let failure;
    let (to, reason, failed) = match p.status {
        PaymentStatus::Authorized | PaymentStatus::Captured => {
            (O::PaymentAuthorized, "the payment was authorized", None)
        }
        PaymentStatus::Pending => {
            (O::PaymentPending, "the gateway's answer was lost; the reconciler asks it", None)
        }
        PaymentStatus::Failed => {
            failure = crate::orders::PaymentFailure {
                payment_id: Some(p.id),
                decline_code: p.decline_code.clone(),
                reason: p.failure_reason.clone().unwrap_or_else(|| "the payment failed".into()),
            };
            (O::PaymentFailed, "the payment failed", Some(&failure))
        }
        _ => return Ok(()),
    };
    let moved =
        crate::orders::payment_decided(tx, ctx.state, ctx.tenant, p.order_id, to, reason, failed, ctx.now())
            .await?;
    envelopes.extend(moved.into_iter().flatten());
    Ok(())
}

async fn publish(ctx: &Ctx<'_>, envelopes: &[Envelope]) {
    if envelopes.is_empty() {
        return;
    }
    if let Err(e) = events::publish_committed(ctx.state, envelopes).await {
        tracing::warn!(error = %e, "payment events left to the relay");
    }
}

/// Finishes `attempt` with what was settled and moves its payment accordingly; the payment after.
/// An attempt already finished (a late answer, a second resolver) changes nothing.
async fn apply(
    ctx: &Ctx<'_>,
    payment_id: Uuid,
    attempt: &Attempt,
    resolved: Resolved,
) -> Result<Payment, Error> {
    let (after, envelopes) = apply_in_tx(ctx, payment_id, attempt, resolved).await?;
    // The connection is back in the pool before the events go out (publishing takes one).
    publish(ctx, &envelopes).await;
    Ok(after)
}

async fn apply_in_tx(
    ctx: &Ctx<'_>,
    payment_id: Uuid,
    attempt: &Attempt,
    resolved: Resolved,
) -> Result<(Payment, Vec<Envelope>), Error> {
    let mut conn;
    let tx = tx!(ctx, conn);
    let p = store::payment_by_id(&tx, payment_id, true)
        .await?
        .ok_or_else(|| Error::NotFound("the payment".into()))?;
    let now = ctx.now();
    let (status, txn, code, reason) = match &resolved {
        Resolved::Approved { transaction_id } => {
            (AttemptStatus::Approved, transaction_id.as_deref(), None, None)
        }
        Resolved::Declined { code, reason } => {
            (AttemptStatus::Declined, None, Some(code.as_str()), Some(reason.as_str()))
        }
        Resolved::NotProcessed { why } => (AttemptStatus::NotProcessed, None, None, Some(why.as_str())),
        Resolved::Unknown { why } => (AttemptStatus::Unknown, None, None, Some(why.as_str())),
    };
    let finished = store::finish_attempt(&tx, attempt.id, status, txn, code, reason, now).await?;
    let mut envelopes = Vec::new();
    if finished {
        let amount = attempt.amount;
        let change = match (&resolved, attempt.operation) {
            (Resolved::Approved { transaction_id }, op) if op.charges() => Some((
                PaymentChange {
                    status: Some(if op == AttemptOperation::Sale {
                        PaymentStatus::Captured
                    } else {
                        PaymentStatus::Authorized
                    }),
                    gateway: Some(attempt.gateway),
                    merchant_account_id: Some(attempt.merchant_account_id),
                    transaction_id: transaction_id.as_deref(),
                    authorized: Some(amount),
                    add_captured: if op == AttemptOperation::Sale { amount } else { 0 },
                    ..Default::default()
                },
                "the gateway approved the charge",
            )),
            (Resolved::Declined { code, reason }, op) if op.charges() => Some((
                PaymentChange {
                    status: Some(PaymentStatus::Failed),
                    gateway: Some(attempt.gateway),
                    merchant_account_id: Some(attempt.merchant_account_id),
                    decline_code: Some(code),
                    failure_reason: Some(reason),
                    ..Default::default()
                },
                "the gateway declined the charge",
            )),
            (Resolved::Approved { .. }, AttemptOperation::Capture) => Some((
                PaymentChange {
                    status: Some(PaymentStatus::Captured),
                    add_captured: amount,
                    ..Default::default()
                },
                "captured",
            )),
            // A void of a captured, unsettled payment is how its whole refund is made.
            (Resolved::Approved { .. }, AttemptOperation::Void) if p.captured > 0 => Some((
                PaymentChange {
                    status: Some(PaymentStatus::Refunded),
                    add_refunded: p.captured - p.refunded,
                    ..Default::default()
                },
                "refunded in full by voiding the unsettled capture",
            )),
            (Resolved::Approved { .. }, AttemptOperation::Void) => {
                Some((PaymentChange { status: Some(PaymentStatus::Voided), ..Default::default() }, "voided"))
            }
            (Resolved::Approved { .. }, AttemptOperation::Refund) => Some((
                PaymentChange {
                    status: Some(PaymentStatus::Refunded),
                    add_refunded: amount,
                    ..Default::default()
                },
                "refunded",
            )),
            _ => None,
        };
        if let Some((change, why)) = change {
            let to = change.status.unwrap_or(p.status);
            if p.status.may_become(to) {
                moved(ctx, &tx, &p, &change, why, &mut envelopes).await?;
            } else {
                let detail = format!(
                    "the gateway settled a {} attempt as {:?} while the payment is {}",
                    attempt.operation.as_str(),
                    status,
                    p.status
                );
                store::insert_discrepancy(&tx, ctx.tenant.as_uuid(), p.id, "late_outcome", &detail, now)
                    .await?;
            }
        } else {
            if matches!(resolved, Resolved::Unknown { .. }) && attempt.operation.charges() {
                order_follows(ctx, &tx, &p, &mut envelopes).await?;
            }
            let entry = Entry::new("payment.attempt_finished", "payment", p.id).after(
                serde_json::json!({"attempt_id": attempt.id, "operation": attempt.operation, "status": status, "reason": reason}),
            );
            ctx.audit(&tx, entry).await?;
        }
    }
    let after = detail(&tx, payment_id).await?;
    tx.commit().await?;
    Ok((after, envelopes))
}

/// What the gateway's books say about an open attempt of `p`; `None` while they cannot tell.
fn judge(p: &Payment, a: &Attempt, books: &[GatewayTransaction]) -> Option<Resolved> {
    use TransactionStatus as T;
    if a.operation.charges() {
        let t = books.iter().find(|t| !matches!(t.status, T::Failed)).or(books.first())?;
        return match t.status {
            T::Authorized | T::Captured | T::Settled | T::Refunded | T::Voided => {
                Some(Resolved::Approved { transaction_id: Some(t.id.clone()) })
            }
            T::Failed => Some(Resolved::Declined {
                code: "declined".into(),
                reason: "the gateway's books show the charge declined".into(),
            }),
            T::Held => None,
        };
    }
    let t = books.first()?;
    let done = match a.operation {
        AttemptOperation::Capture => t.captured >= p.captured + a.amount,
        AttemptOperation::Void => t.status == T::Voided,
        AttemptOperation::Refund => t.refunded >= p.refunded + a.amount,
        _ => false,
    };
    done.then_some(Resolved::Approved { transaction_id: None })
}

/// Asks the gateway about every open attempt of a payment and records what it says; the payment
/// after. An attempt the gateway does not know yet stays open (the reconcilers decide later).
pub async fn resolve(ctx: &Ctx<'_>, id: Uuid) -> Result<Payment, Error> {
    let p = load(ctx, id).await?;
    for a in p.attempts.iter().filter(|a| a.status.open()) {
        ask(ctx, &p, a).await?;
    }
    load(ctx, id).await
}

/// What asking a gateway about one attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// Its books decided the attempt (now recorded).
    Decided,
    /// Its books hold nothing for it (yet).
    NotFound,
    /// It could not be asked.
    Unreachable,
}

/// Asks the gateway about one open attempt of `p` and records what its books say.
async fn ask(ctx: &Ctx<'_>, p: &Payment, a: &Attempt) -> Result<Asked, Error> {
    let account = {
        let mut conn;
        let tx = tx!(ctx, conn);
        super::account(&tx, a.merchant_account_id).await?
    };
    let client = super::gateway(ctx.state, &account).await?;
    let books = if a.operation.charges() {
        client.find_by_reference(&a.reference).await
    } else {
        match &p.transaction_id {
            Some(t) => client.find_by_id(t).await.map(|t| t.into_iter().collect()),
            None => Ok(Vec::new()),
        }
    };
    match books {
        Ok(books) => match judge(p, a, &books) {
            Some(r) => {
                apply(ctx, p.id, a, r).await?;
                Ok(Asked::Decided)
            }
            None => Ok(Asked::NotFound),
        },
        Err(e) => {
            tracing::warn!(payment = %p.id, error = %e, "the gateway could not be asked; the attempt stays open");
            Ok(Asked::Unreachable)
        }
    }
}

/// How long an open attempt waits before the reconciler asks about it
/// (`PAYMENTS_RECONCILE_AFTER_SECONDS`, default 60), and how long the gateway may show no record
/// of it before it is taken as never processed (`PAYMENTS_NOT_FOUND_AFTER_SECONDS`, default 900:
/// a lookup right after a timeout can miss a charge the gateway is still writing).
fn reconcile_settings(state: &AppState) -> (chrono::Duration, chrono::Duration) {
    let secs = |name: &str, default: i64| {
        state
            .config()
            .env
            .get(name)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|v| (0..=86_400).contains(v))
            .unwrap_or(default)
    };
    (
        chrono::Duration::seconds(secs("PAYMENTS_RECONCILE_AFTER_SECONDS", 60)),
        chrono::Duration::seconds(secs("PAYMENTS_NOT_FOUND_AFTER_SECONDS", 900)),
    )
}

/// What one run of [`reconcile_pending`] did.
#[derive(Debug, Default, Serialize)]
pub struct ReconcileReport {
    /// Decided by the gateway's books (approved, declined).
    pub completed: u32,
    /// Approved, but its order was cancelled meanwhile: voided (or returned whole).
    pub voided: u32,
    /// No record at the gateway after the window: not processed (a charge's payment failed).
    pub not_processed: u32,
    /// Still open (not found yet, or the gateway could not be asked).
    pub open: u32,
    /// Taken by another run at the same moment.
    pub skipped: u32,
}

/// The timeout reconciler (`payments-reconcile-pending`): every attempt whose outcome is not known
/// and older than the threshold is looked up at its gateway by reference. Each run claims an
/// attempt before asking (a conditional update), so two runs at once resolve it once.
pub async fn reconcile_pending(state: &AppState, ops: &Db) -> Result<ReconcileReport, Error> {
    let (after, window) = reconcile_settings(state);
    let now = state.clock().now();
    let caller = crate::platform::http::Caller::default();
    let open = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        store::attempts_in(&tx, &["attempted", "unknown"], now, 100).await?
    };
    let mut report = ReconcileReport::default();
    for q in open.into_iter().filter(|q| now - q.attempt.created_at >= after) {
        let claimed = {
            let mut conn = ops.conn().await?;
            let tx = scoped_tx(&mut conn, None, None).await?;
            let won =
                store::claim_for_reconciling(&tx, q.attempt.id, now, now + chrono::Duration::minutes(5))
                    .await?;
            tx.commit().await?;
            won
        };
        if !claimed {
            report.skipped += 1;
            continue;
        }
        let ctx =
            Ctx { state, db: ops, tenant: TenantId::from_uuid(q.tenant_id), actor: Actor::system(&caller) };
        match reconcile_one(&ctx, q.payment_id, &q.attempt, now - q.attempt.created_at >= window).await {
            Ok(Reconciled::Completed) => report.completed += 1,
            Ok(Reconciled::Voided) => report.voided += 1,
            Ok(Reconciled::NotProcessed) => report.not_processed += 1,
            Ok(Reconciled::Open) => report.open += 1,
            Err(e) => {
                tracing::warn!(payment = %q.payment_id, error = %e, "an open attempt was not reconciled");
                report.open += 1;
            }
        }
    }
    Ok(report)
}

enum Reconciled {
    Completed,
    Voided,
    NotProcessed,
    Open,
}

async fn reconcile_one(ctx: &Ctx<'_>, id: Uuid, a: &Attempt, past_window: bool) -> Result<Reconciled, Error> {
    let p = load(ctx, id).await?;
    match ask(ctx, &p, a).await? {
        Asked::Unreachable => Ok(Reconciled::Open),
        Asked::NotFound if !past_window => Ok(Reconciled::Open),
        Asked::NotFound => {
            let why = "the gateway has no record of it after the reconciliation window";
            apply(ctx, id, a, Resolved::NotProcessed { why: why.into() }).await?;
            if a.operation.charges() {
                fail(ctx, id, why).await?;
            }
            Ok(Reconciled::NotProcessed)
        }
        Asked::Decided => {
            let after = load(ctx, id).await?;
            let cancelled = {
                let mut conn;
                let tx = tx!(ctx, conn);
                crate::orders::find_order(&tx, after.order_id).await?.status
                    == crate::orders::OrderStatus::Cancelled
            };
            // A charge found approved for an order cancelled meanwhile is not kept.
            let key = format!("reconcile-{}", a.id);
            match (a.operation.charges(), cancelled, after.status) {
                (true, true, PaymentStatus::Authorized) => {
                    void(ctx, id, &key).await?;
                    Ok(Reconciled::Voided)
                }
                (true, true, PaymentStatus::Captured) => {
                    refund(ctx, id, None, &key).await?;
                    Ok(Reconciled::Voided)
                }
                _ => Ok(Reconciled::Completed),
            }
        }
    }
}

/// The payment and the client of the account holding its charge.
async fn holder(ctx: &Ctx<'_>, id: Uuid) -> Result<(Payment, MerchantAccount, Box<dyn Gateway>), Error> {
    let (p, account) = {
        let mut conn;
        let tx = tx!(ctx, conn);
        let p = detail(&tx, id).await?;
        let Some(account_id) = p.merchant_account_id else {
            return Err(Error::Conflict {
                code: "invalid_state",
                detail: format!("a {} payment has no charge at a gateway", p.status),
            });
        };
        (p, super::account(&tx, account_id).await?)
    };
    let client = super::gateway(ctx.state, &account).await?;
    Ok((p, account, client))
}

fn invalid_state(p: &Payment, what: &str) -> Error {
    Error::Conflict { code: "invalid_state", detail: format!("a {} payment cannot be {what}", p.status) }
}

fn amount_error(field: &str, max: i64) -> Error {
    Error::Invalid(vec![crate::FieldError::new(field, "out_of_range", format!("1 to {max} minor units"))])
}

/// One operation on a payment's charge at its gateway: checked under the payment's lock, written
/// ahead (with the request's key), called, applied. `check` decides the operation and amount
/// from the payment as locked.
async fn operate(
    ctx: &Ctx<'_>,
    id: Uuid,
    key: Option<String>,
    check: impl Fn(&Payment) -> Result<(AttemptOperation, i64), Error>,
) -> Result<Answer, Error> {
    let (p, account, client) = holder(ctx, id).await?;
    check(&p)?;
    let breakers = ctx.breakers().await;
    let permit = ctx.permit(breakers.as_ref(), &account).await;
    if let Permit::Refused { until } = permit {
        return Err(Error::Unavailable(format!(
            "{}'s circuit breaker is open until {until}; nothing was sent",
            account.gateway
        )));
    }
    let transaction_id = p.transaction_id.clone().unwrap_or_default();
    let written = async {
        let mut conn;
        let tx = tx!(ctx, conn);
        let locked = store::payment_by_id(&tx, id, true)
            .await?
            .ok_or_else(|| Error::NotFound("the payment".into()))?;
        let (operation, amount) = check(&locked)?;
        let attempt = new_attempt(operation, &account, amount, AttemptStatus::Attempted, ctx.now());
        store::insert_attempt(&tx, ctx.tenant.as_uuid(), id, &attempt, key.as_deref()).await?;
        let entry = Entry::new("payment.operation_requested", "payment", id)
            .after(serde_json::json!({"operation": operation, "amount": amount, "attempt_id": attempt.id}));
        ctx.audit(&tx, entry).await?;
        tx.commit().await?;
        Ok::<_, Error>(attempt)
    }
    .await;
    let attempt = match written {
        Ok(a) => a,
        Err(e) => {
            ctx.release(breakers.as_ref(), &account, permit).await;
            return Err(e);
        }
    };
    let money = Money::new(attempt.amount.max(1), &p.currency).map_err(|e| Error::Internal(e.to_string()))?;
    let operation = match attempt.operation {
        AttemptOperation::Capture => Operation::Capture { transaction_id, amount: money },
        AttemptOperation::Void => Operation::Void { transaction_id },
        _ => Operation::Refund { transaction_id, amount: Some(money), account_last4: None },
    };
    let outcome = client.execute(&Request { reference: attempt.reference.clone(), operation }).await;
    let (_, applied) = tokio::join!(
        ctx.record(breakers.as_ref(), &account, permit, &outcome),
        apply(ctx, id, &attempt, Resolved::from(&outcome))
    );
    attempt_answer(applied?, attempt.id)
}

/// Captures an authorized payment, in full or in part.
pub async fn capture(ctx: &Ctx<'_>, id: Uuid, amount: Option<i64>, key: &str) -> Result<Answer, Error> {
    operate(ctx, id, Some(attempt_key(KeyOp::Capture, key)), |p| {
        if p.status != PaymentStatus::Authorized {
            return Err(invalid_state(p, "captured"));
        }
        let max = p.authorized - p.captured;
        let amount = amount.unwrap_or(max);
        if !(1..=max).contains(&amount) {
            return Err(amount_error("amount", max));
        }
        Ok((AttemptOperation::Capture, amount))
    })
    .await
}

/// Voids an authorized payment (nothing captured).
pub async fn void(ctx: &Ctx<'_>, id: Uuid, key: &str) -> Result<Answer, Error> {
    operate(ctx, id, Some(attempt_key(KeyOp::Void, key)), |p| {
        if p.status != PaymentStatus::Authorized {
            return Err(invalid_state(p, "voided; refund a captured payment instead"));
        }
        Ok((AttemptOperation::Void, 0))
    })
    .await
}

/// Refunds a captured payment: at once when its capture is settled; by voiding it when nothing
/// is settled and all of it is returned; otherwise queued, and sent once the capture settles
/// ([`send_due_refunds`]). The refundable amount counts refunds queued or in flight.
pub async fn refund(ctx: &Ctx<'_>, id: Uuid, amount: Option<i64>, key: &str) -> Result<Answer, Error> {
    let key = attempt_key(KeyOp::Refund, key);
    let (p, account, client) = holder(ctx, id).await?;
    let wanted = |p: &Payment| -> Result<i64, Error> {
        if !matches!(p.status, PaymentStatus::Captured | PaymentStatus::Refunded) {
            return Err(invalid_state(p, "refunded; void an authorization instead"));
        }
        let amount = amount.unwrap_or(p.refundable);
        if p.refundable < 1 || !(1..=p.refundable).contains(&amount) {
            return Err(amount_error("amount", p.refundable));
        }
        Ok(amount)
    };
    let amount = wanted(&p)?;
    let transaction_id = p.transaction_id.clone().unwrap_or_default();
    let books = client.find_by_id(&transaction_id).await.map_err(|e| Error::Unavailable(e.to_string()))?;
    let settled = books
        .as_ref()
        .is_some_and(|t| matches!(t.status, TransactionStatus::Settled | TransactionStatus::Refunded));
    if settled {
        return operate(ctx, id, Some(key), |p| Ok((AttemptOperation::Refund, wanted(p)?))).await;
    }
    if p.refunded == 0 && p.refund_pending == 0 && amount == p.captured {
        return operate(ctx, id, Some(key), |p| {
            wanted(p)?;
            if p.refunded == 0 && p.refund_pending == 0 {
                Ok((AttemptOperation::Void, p.captured))
            } else {
                Err(invalid_state(p, "voided"))
            }
        })
        .await;
    }
    // Partly, before settlement: queued for after it.
    let mut conn;
    let tx = tx!(ctx, conn);
    let locked =
        store::payment_by_id(&tx, id, true).await?.ok_or_else(|| Error::NotFound("the payment".into()))?;
    let amount = wanted(&locked)?;
    let attempt = new_attempt(AttemptOperation::Refund, &account, amount, AttemptStatus::Queued, ctx.now());
    store::insert_attempt(&tx, ctx.tenant.as_uuid(), id, &attempt, Some(&key)).await?;
    let entry = Entry::new("payment.refund_queued", "payment", id).after(
        serde_json::json!({"amount": amount, "attempt_id": attempt.id, "until": "the capture settles"}),
    );
    ctx.audit(&tx, entry).await?;
    let after = detail(&tx, id).await?;
    tx.commit().await?;
    Ok(Answer { payment: after, pending: true })
}

/// What one run of [`send_due_refunds`] did.
#[derive(Debug, Default, Serialize)]
pub struct RefundsReport {
    pub sent: u32,
    pub waiting: u32,
    pub failed: u32,
}

/// Sends queued refunds whose capture has settled (the `payments-refunds-due` schedule), up to a
/// hundred per run (the oldest first; the next run takes the rest).
pub async fn send_due_refunds(state: &AppState, ops: &Db) -> Result<RefundsReport, Error> {
    let caller = crate::platform::http::Caller::default();
    let queued = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        store::attempts_in(&tx, &["queued"], state.clock().now(), 100).await?
    };
    let mut report = RefundsReport::default();
    for q in queued {
        let ctx =
            Ctx { state, db: ops, tenant: TenantId::from_uuid(q.tenant_id), actor: Actor::system(&caller) };
        match send_queued(&ctx, q.payment_id, &q.attempt).await {
            Ok(true) => report.sent += 1,
            Ok(false) => report.waiting += 1,
            Err(e) => {
                tracing::warn!(payment = %q.payment_id, error = %e, "a queued refund was not sent");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Sends one queued refund if its capture has settled; whether it was sent.
async fn send_queued(ctx: &Ctx<'_>, id: Uuid, attempt: &Attempt) -> Result<bool, Error> {
    let (p, account, client) = holder(ctx, id).await?;
    let transaction_id = p.transaction_id.clone().unwrap_or_default();
    let books = client.find_by_id(&transaction_id).await.map_err(|e| Error::Unavailable(e.to_string()))?;
    if !books.is_some_and(|t| matches!(t.status, TransactionStatus::Settled | TransactionStatus::Refunded)) {
        return Ok(false);
    }
    let breakers = ctx.breakers().await;
    let permit = ctx.permit(breakers.as_ref(), &account).await;
    if matches!(permit, Permit::Refused { .. }) {
        return Ok(false);
    }
    let sent = async {
        let mut conn;
        let tx = tx!(ctx, conn);
        if !store::send_queued(&tx, attempt.id).await? {
            return Ok::<_, Error>(false);
        }
        let entry = Entry::new("payment.refund_sent", "payment", id)
            .after(serde_json::json!({"attempt_id": attempt.id}));
        ctx.audit(&tx, entry).await?;
        tx.commit().await?;
        Ok(true)
    }
    .await;
    if !matches!(sent, Ok(true)) {
        ctx.release(breakers.as_ref(), &account, permit).await;
        return sent;
    }
    let money = Money::new(attempt.amount, &p.currency).map_err(|e| Error::Internal(e.to_string()))?;
    let operation = Operation::Refund { transaction_id, amount: Some(money), account_last4: None };
    let outcome = client.execute(&Request { reference: attempt.reference.clone(), operation }).await;
    ctx.record(breakers.as_ref(), &account, permit, &outcome).await;
    apply(ctx, id, attempt, Resolved::from(&outcome)).await?;
    Ok(true)
}

/// The acting tenant's payments, newest first (one more than `limit` when there is a next page).
pub async fn list(
    tx: &tokio_postgres::Transaction<'_>,
    filter: &crate::payments::model::PaymentFilter,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<Payment>, Error> {
    store::list_payments(tx, filter, limit, cursor).await
}

/// The reconciliation view, across tenants (the ops role): open attempts and queued refunds with
/// their age, open discrepancies, and every merchant account's breaker.
pub async fn reconciliation(
    state: &AppState,
    ops: &Db,
) -> Result<crate::payments::model::Reconciliation, Error> {
    use crate::payments::model::Reconciliation;
    let now = state.clock().now();
    let (open_attempts, queued_refunds, discrepancies, accounts) = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        (
            store::attempts_in(&tx, &["attempted", "unknown"], now, 500).await?,
            store::attempts_in(&tx, &["queued"], now, 500).await?,
            store::open_discrepancies(&tx, 500).await?,
            store::accounts(&tx).await?,
        )
    };
    let breakers = breaker_states(state, &accounts).await?;
    Ok(Reconciliation { open_attempts, queued_refunds, discrepancies, breakers })
}

/// Every merchant account's breaker (across tenants: the operations role).
pub async fn breakers(
    state: &AppState,
    ops: &Db,
) -> Result<Vec<crate::payments::model::BreakerState>, Error> {
    let accounts = {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, None, None).await?;
        store::accounts(&tx).await?
    };
    breaker_states(state, &accounts).await
}

async fn breaker_states(
    state: &AppState,
    accounts: &[crate::payments::model::MerchantAccount],
) -> Result<Vec<crate::payments::model::BreakerState>, Error> {
    use crate::payments::model::BreakerState;
    let now = state.clock().now();
    let breakers = Breakers::of(state).await.map_err(|e| Error::Config(e.to_string()))?;
    let mut views = Vec::new();
    for a in accounts {
        let view = breakers.view(&breaker_key(a), now).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a breaker could not be read");
            breaker::View::unreadable()
        });
        views.push(BreakerState {
            gateway: a.gateway,
            merchant_account_id: a.id,
            merchant_account: a.name.clone(),
            breaker: view,
        });
    }
    Ok(views)
}
