//! Every SQL string of the payments context.

use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::payments::model::{
    AccountFields, AccountSet, Attempt, AttemptOperation, AttemptStatus, Discrepancy, Error, GatewayKind,
    HistoryEntry, MerchantAccount, NewAccountSet, OpenAttempt, Payment, PaymentFilter, PaymentStatus,
};

const ACCOUNT: &str = "id, gateway, name, base_url, credentials_secret, enabled, created_at, updated_at";
const SET: &str = "id, name, descriptor, primary_gateway, nmi_account_id, authorize_net_account_id, \
                   platform_default, created_at, updated_at";

fn gateway(row: &Row, column: &str) -> GatewayKind {
    GatewayKind::parse(row.get::<_, &str>(column)).unwrap_or(GatewayKind::Nmi)
}

fn account(row: &Row) -> MerchantAccount {
    MerchantAccount {
        id: row.get("id"),
        gateway: gateway(row, "gateway"),
        name: row.get("name"),
        base_url: row.get("base_url"),
        credentials_secret: row.get("credentials_secret"),
        enabled: row.get("enabled"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

fn set(row: &Row) -> AccountSet {
    AccountSet {
        id: row.get("id"),
        name: row.get("name"),
        descriptor: row.get("descriptor"),
        primary_gateway: gateway(row, "primary_gateway"),
        nmi_account_id: row.get("nmi_account_id"),
        authorize_net_account_id: row.get("authorize_net_account_id"),
        platform_default: row.get("platform_default"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// A unique violation as a conflict naming what is taken: the one platform default (another set
/// became the default at the same moment) or the name.
fn taken(e: tokio_postgres::Error, what: &str) -> Error {
    if e.code() != Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        return Error::Store(e);
    }
    let constraint = e.as_db_error().and_then(|d| d.constraint()).unwrap_or_default();
    if constraint == "payment_account_sets_one_default" {
        Error::Conflict {
            code: "default_taken",
            detail: "another account set became the platform default; try again".into(),
        }
    } else {
        Error::Conflict { code: "name_taken", detail: format!("{what} with this name exists") }
    }
}

pub async fn insert_account(
    db: &Transaction<'_>,
    id: Uuid,
    gateway: GatewayKind,
    f: &AccountFields,
    base_url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<MerchantAccount, Error> {
    let sql = format!(
        "INSERT INTO merchant_accounts (id, gateway, name, base_url, credentials_secret, enabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {ACCOUNT}"
    );
    let name = f.name.as_deref().unwrap_or_default().trim();
    let row = db
        .query_one(
            &sql,
            &[
                &id,
                &gateway.as_str(),
                &name,
                &base_url,
                &f.credentials_secret,
                &f.enabled.unwrap_or(true),
                &now,
            ],
        )
        .await
        .map_err(|e| taken(e, "a merchant account"))?;
    Ok(account(&row))
}

pub async fn accounts(db: &Transaction<'_>) -> Result<Vec<MerchantAccount>, Error> {
    let rows =
        db.query(&format!("SELECT {ACCOUNT} FROM merchant_accounts ORDER BY gateway, name"), &[]).await?;
    Ok(rows.iter().map(account).collect())
}

pub async fn account_by_id(db: &Transaction<'_>, id: Uuid) -> Result<Option<MerchantAccount>, Error> {
    let row = db.query_opt(&format!("SELECT {ACCOUNT} FROM merchant_accounts WHERE id = $1"), &[&id]).await?;
    Ok(row.as_ref().map(account))
}

pub async fn update_account(
    db: &Transaction<'_>,
    id: Uuid,
    f: &AccountFields,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<MerchantAccount>, Error> {
    let sql = format!(
        "UPDATE merchant_accounts SET name = COALESCE($2, name), base_url = COALESCE($3, base_url),
                credentials_secret = COALESCE($4, credentials_secret), enabled = COALESCE($5, enabled), updated_at = $6
         WHERE id = $1 RETURNING {ACCOUNT}"
    );
    let name = f.name.as_deref().map(str::trim);
    let row = db
        .query_opt(&sql, &[&id, &name, &f.base_url, &f.credentials_secret, &f.enabled, &now])
        .await
        .map_err(|e| taken(e, "a merchant account"))?;
    Ok(row.as_ref().map(account))
}

pub async fn clear_default(db: &Transaction<'_>) -> Result<(), Error> {
    db.execute("UPDATE payment_account_sets SET platform_default = false WHERE platform_default", &[])
        .await?;
    Ok(())
}

pub async fn insert_set(
    db: &Transaction<'_>,
    id: Uuid,
    s: &NewAccountSet,
    primary: GatewayKind,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<AccountSet, Error> {
    let sql = format!(
        "INSERT INTO payment_account_sets (id, name, descriptor, primary_gateway, nmi_account_id, authorize_net_account_id,
                                           platform_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {SET}"
    );
    let row = db
        .query_one(
            &sql,
            &[
                &id,
                &s.name.trim(),
                &s.descriptor.trim(),
                &primary.as_str(),
                &s.nmi_account_id,
                &s.authorize_net_account_id,
                &s.platform_default,
                &now,
            ],
        )
        .await
        .map_err(|e| taken(e, "an account set"))?;
    Ok(set(&row))
}

pub async fn sets(db: &Transaction<'_>) -> Result<Vec<AccountSet>, Error> {
    let rows = db.query(&format!("SELECT {SET} FROM payment_account_sets ORDER BY name"), &[]).await?;
    Ok(rows.iter().map(set).collect())
}

pub async fn set_by_id(db: &Transaction<'_>, id: Uuid) -> Result<Option<AccountSet>, Error> {
    let row = db.query_opt(&format!("SELECT {SET} FROM payment_account_sets WHERE id = $1"), &[&id]).await?;
    Ok(row.as_ref().map(set))
}

pub async fn default_set(db: &Transaction<'_>) -> Result<Option<AccountSet>, Error> {
    let row =
        db.query_opt(&format!("SELECT {SET} FROM payment_account_sets WHERE platform_default"), &[]).await?;
    Ok(row.as_ref().map(set))
}

/// The set assigned to `tenant`, if any.
pub async fn assigned_set(db: &Transaction<'_>, tenant: Uuid) -> Result<Option<AccountSet>, Error> {
    let sql = format!(
        "SELECT {} FROM payment_account_sets s JOIN tenant_payment_accounts t ON t.account_set_id = s.id
         WHERE t.tenant_id = $1",
        SET.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
    );
    let row = db.query_opt(&sql, &[&tenant]).await?;
    Ok(row.as_ref().map(set))
}

pub async fn assign(
    db: &Transaction<'_>,
    tenant: Uuid,
    account_set: Option<Uuid>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    match account_set {
        Some(set) => {
            db.execute(
                "INSERT INTO tenant_payment_accounts (tenant_id, account_set_id, assigned_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id) DO UPDATE SET account_set_id = EXCLUDED.account_set_id, assigned_at = EXCLUDED.assigned_at",
                &[&tenant, &set, &now],
            )
            .await
            .map_err(|e| match e.code() {
                Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) => Error::NotFound("the tenant".into()),
                _ => Error::Store(e),
            })?;
        }
        None => {
            db.execute("DELETE FROM tenant_payment_accounts WHERE tenant_id = $1", &[&tenant]).await?;
        }
    }
    Ok(())
}

const METHOD: &str = "id, customer_email, brand, last4, exp_month, exp_year, credentials, created_at";

fn method(row: &Row) -> crate::payments::model::PaymentMethod {
    let stored: serde_json::Value = row.get("credentials");
    let credentials: Vec<crate::payments::model::VaultCredential> = stored
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| serde_json::from_value(c.clone()).ok())
        .collect();
    let gateways: Vec<GatewayKind> = credentials.iter().map(|c| c.gateway()).collect();
    crate::payments::model::PaymentMethod {
        id: row.get("id"),
        customer_email: row.get("customer_email"),
        brand: row.get("brand"),
        last4: row.get("last4"),
        exp_month: row.get("exp_month"),
        exp_year: row.get("exp_year"),
        can_fail_over: gateways.len() == 2,
        gateways,
        not_stored: Vec::new(),
        created_at: row.get("created_at"),
        credentials,
    }
}

pub async fn insert_method(
    db: &Transaction<'_>,
    tenant: Uuid,
    m: &crate::payments::model::PaymentMethod,
) -> Result<crate::payments::model::PaymentMethod, Error> {
    let credentials = serde_json::to_value(&m.credentials).unwrap_or_default();
    let sql = format!(
        "INSERT INTO payment_methods (id, tenant_id, customer_email, brand, last4, exp_month, exp_year, credentials, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {METHOD}"
    );
    let row = db
        .query_one(
            &sql,
            &[
                &m.id,
                &tenant,
                &m.customer_email,
                &m.brand,
                &m.last4,
                &m.exp_month,
                &m.exp_year,
                &credentials,
                &m.created_at,
            ],
        )
        .await?;
    Ok(method(&row))
}

pub async fn method_by_id(
    db: &Transaction<'_>,
    id: Uuid,
) -> Result<Option<crate::payments::model::PaymentMethod>, Error> {
    let row = db.query_opt(&format!("SELECT {METHOD} FROM payment_methods WHERE id = $1"), &[&id]).await?;
    Ok(row.as_ref().map(method))
}

const PAYMENT: &str = "p.id, p.order_id, p.status, p.intent, p.amount, p.currency, p.payment_method_id, p.gateway, \
    p.merchant_account_id, p.transaction_id, p.authorized, p.captured, p.refunded, p.decline_code, p.failure_reason, \
    p.created_at, p.updated_at, p.purpose, \
    COALESCE((SELECT sum(a.amount) FROM payment_attempts a WHERE a.payment_id = p.id
              AND (a.operation = 'refund' OR (a.operation = 'void' AND a.amount > 0))
              AND a.status IN ('queued', 'attempted', 'unknown')), 0)::bigint AS refund_pending";

fn payment(row: &Row) -> Payment {
    let captured: i64 = row.get("captured");
    let refunded: i64 = row.get("refunded");
    let refund_pending: i64 = row.get("refund_pending");
    Payment {
        id: row.get("id"),
        order_id: row.get("order_id"),
        status: PaymentStatus::parse(row.get("status")).unwrap_or(PaymentStatus::Pending),
        intent: AttemptOperation::parse(row.get("intent")).unwrap_or(AttemptOperation::Sale),
        amount: row.get("amount"),
        currency: row.get("currency"),
        payment_method_id: row.get("payment_method_id"),
        purpose: row.get("purpose"),
        gateway: row.get::<_, Option<&str>>("gateway").and_then(GatewayKind::parse),
        merchant_account_id: row.get("merchant_account_id"),
        transaction_id: row.get("transaction_id"),
        authorized: row.get("authorized"),
        captured,
        refunded,
        refund_pending,
        refundable: (captured - refunded - refund_pending).max(0),
        decline_code: row.get("decline_code"),
        failure_reason: row.get("failure_reason"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        attempts: Vec::new(),
        history: Vec::new(),
    }
}

const ATTEMPT: &str = "id, operation, gateway, merchant_account_id, amount, reference, status, transaction_id, code, \
    reason, created_at, finished_at";

fn attempt(row: &Row) -> Attempt {
    Attempt {
        id: row.get("id"),
        operation: AttemptOperation::parse(row.get("operation")).unwrap_or(AttemptOperation::Sale),
        gateway: gateway(row, "gateway"),
        merchant_account_id: row.get("merchant_account_id"),
        amount: row.get("amount"),
        reference: row.get("reference"),
        status: AttemptStatus::parse(row.get("status")).unwrap_or(AttemptStatus::Unknown),
        transaction_id: row.get("transaction_id"),
        code: row.get("code"),
        reason: row.get("reason"),
        created_at: row.get("created_at"),
        finished_at: row.get("finished_at"),
    }
}

/// What a new payment is made of.
pub struct NewPayment<'a> {
    pub id: Uuid,
    pub tenant: Uuid,
    pub order_id: Uuid,
    pub intent: AttemptOperation,
    pub amount: i64,
    pub currency: &'a str,
    pub payment_method_id: Option<Uuid>,
    pub account_set_id: Option<Uuid>,
    pub idempotency_key: Option<&'a str>,
    pub purpose: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Inserts a pending payment. The order's one live payment and the key's one payment are the
/// database's to enforce: either taken is a conflict.
pub async fn insert_payment(db: &Transaction<'_>, p: &NewPayment<'_>) -> Result<(), Error> {
    let inserted = db
        .execute(
            "INSERT INTO payments (id, tenant_id, order_id, status, intent, amount, currency, payment_method_id,
                                   account_set_id, idempotency_key, created_at, updated_at, purpose)
             VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $10, $11)",
            &[
                &p.id,
                &p.tenant,
                &p.order_id,
                &p.intent.as_str(),
                &p.amount,
                &p.currency,
                &p.payment_method_id,
                &p.account_set_id,
                &p.idempotency_key,
                &p.now,
                &p.purpose,
            ],
        )
        .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            let constraint = e.as_db_error().and_then(|d| d.constraint()).unwrap_or_default().to_owned();
            if constraint == "payments_one_live_per_order" {
                // The transaction is aborted: the payment that won is named by GET /payments?order_id=.
                Err(Error::Conflict {
                    code: "order_has_live_payment",
                    detail: "the order already has a live payment; capture, void or refund it instead".into(),
                })
            } else {
                Err(Error::Conflict {
                    code: "request_in_progress",
                    detail: "a payment with this idempotency key is being made; retry shortly".into(),
                })
            }
        }
        Err(e) => Err(Error::Store(e)),
    }
}

pub async fn live_payment(db: &Transaction<'_>, order: Uuid) -> Result<Option<Uuid>, Error> {
    let row = db
        .query_opt(
            "SELECT id FROM payments WHERE order_id = $1 AND purpose = 'order'
               AND (status IN ('pending', 'authorized', 'captured') OR (status = 'refunded' AND refunded < captured))",
            &[&order],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// A payment; `lock` holds its row to the end of the transaction (operations on it are serialised).
pub async fn payment_by_id(db: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Option<Payment>, Error> {
    if lock {
        db.execute("SELECT 1 FROM payments WHERE id = $1 FOR UPDATE", &[&id]).await?;
    }
    let row = db.query_opt(&format!("SELECT {PAYMENT} FROM payments p WHERE p.id = $1"), &[&id]).await?;
    Ok(row.as_ref().map(payment))
}

pub async fn payment_by_key(db: &Transaction<'_>, key: &str) -> Result<Option<Uuid>, Error> {
    let row = db.query_opt("SELECT id FROM payments WHERE idempotency_key = $1", &[&key]).await?;
    Ok(row.map(|r| r.get(0)))
}

/// The payment and attempt a capture, void or refund request with `key` made.
pub async fn attempt_by_key(db: &Transaction<'_>, key: &str) -> Result<Option<(Uuid, Uuid)>, Error> {
    let row = db
        .query_opt("SELECT payment_id, id FROM payment_attempts WHERE idempotency_key = $1", &[&key])
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

pub async fn attempts(db: &Transaction<'_>, payment: Uuid) -> Result<Vec<Attempt>, Error> {
    let rows = db
        .query(
            &format!("SELECT {ATTEMPT} FROM payment_attempts WHERE payment_id = $1 ORDER BY created_at, id"),
            &[&payment],
        )
        .await?;
    Ok(rows.iter().map(attempt).collect())
}

pub async fn history(db: &Transaction<'_>, payment: Uuid) -> Result<Vec<HistoryEntry>, Error> {
    let rows = db
        .query(
            "SELECT from_status, to_status, reason, at FROM payment_history WHERE payment_id = $1 ORDER BY at, id",
            &[&payment],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| HistoryEntry {
            from: r.get::<_, Option<&str>>("from_status").and_then(PaymentStatus::parse),
            to: PaymentStatus::parse(r.get("to_status")).unwrap_or(PaymentStatus::Pending),
            reason: r.get("reason"),
            at: r.get("at"),
        })
        .collect())
}

/// Writes an attempt (`attempted` before its call, or `queued`). Another open attempt on the
/// same payment is a conflict: one call at a time per payment.
pub async fn insert_attempt(
    db: &Transaction<'_>,
    tenant: Uuid,
    payment: Uuid,
    a: &Attempt,
    key: Option<&str>,
) -> Result<(), Error> {
    let inserted = db
        .execute(
            "INSERT INTO payment_attempts (id, tenant_id, payment_id, operation, gateway, merchant_account_id, amount,
                                           reference, status, created_at, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &a.id,
                &tenant,
                &payment,
                &a.operation.as_str(),
                &a.gateway.as_str(),
                &a.merchant_account_id,
                &a.amount,
                &a.reference,
                &a.status.as_str(),
                &a.created_at,
                &key,
            ],
        )
        .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            && e.as_db_error().and_then(|d| d.constraint()) != Some("payment_attempts_one_open") =>
        {
            Err(Error::Conflict {
                code: "request_in_progress",
                detail: "a request with this idempotency key is being processed; retry shortly".into(),
            })
        }
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => Err(Error::Conflict {
            code: "payment_busy",
            detail: "another operation on this payment is in flight or its outcome is not known yet; retry shortly".into(),
        }),
        Err(e) => Err(Error::Store(e)),
    }
}

/// Finishes an open attempt with its outcome; false when it was already finished (a late answer
/// changes nothing).
pub async fn finish_attempt(
    db: &Transaction<'_>,
    id: Uuid,
    status: AttemptStatus,
    transaction_id: Option<&str>,
    code: Option<&str>,
    reason: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, Error> {
    let finished = if status.open() { None } else { Some(now) };
    let n = db
        .execute(
            "UPDATE payment_attempts SET status = $2, transaction_id = COALESCE($3, transaction_id), code = $4,
                    reason = $5, finished_at = $6
             WHERE id = $1 AND status IN ('queued', 'attempted', 'unknown')",
            &[&id, &status.as_str(), &transaction_id, &code, &reason, &finished],
        )
        .await?;
    Ok(n == 1)
}

/// Claims an open attempt for one reconciler run until `until`; false when another run holds it.
pub async fn claim_for_reconciling(
    db: &Transaction<'_>,
    id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<bool, Error> {
    let n = db
        .execute(
            "UPDATE payment_attempts SET reconcile_until = $3
             WHERE id = $1 AND status IN ('attempted', 'unknown') AND (reconcile_until IS NULL OR reconcile_until <= $2)",
            &[&id, &now, &until],
        )
        .await?;
    Ok(n == 1)
}

/// Sends a queued attempt: `attempted` from here on.
pub async fn send_queued(db: &Transaction<'_>, id: Uuid) -> Result<bool, Error> {
    let n = db
        .execute(
            "UPDATE payment_attempts SET status = 'attempted' WHERE id = $1 AND status = 'queued'",
            &[&id],
        )
        .await
        .map_err(|e| match e.code() {
            Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => Error::Conflict {
                code: "payment_busy",
                detail: "another operation on this payment is in flight".into(),
            },
            _ => Error::Store(e),
        })?;
    Ok(n == 1)
}

/// What an outcome changes on a payment.
#[derive(Debug, Default)]
pub struct PaymentChange<'a> {
    pub status: Option<PaymentStatus>,
    pub gateway: Option<GatewayKind>,
    pub merchant_account_id: Option<Uuid>,
    pub transaction_id: Option<&'a str>,
    pub authorized: Option<i64>,
    pub add_captured: i64,
    pub add_refunded: i64,
    pub decline_code: Option<&'a str>,
    pub failure_reason: Option<&'a str>,
}

/// Applies `c` to a payment that is still `from` (the guard: a payment another writer moved
/// first is left alone); false when it was not.
pub async fn change_payment(
    db: &Transaction<'_>,
    id: Uuid,
    from: PaymentStatus,
    c: &PaymentChange<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, Error> {
    let n = db
        .execute(
            "UPDATE payments SET status = COALESCE($3, status), gateway = COALESCE($4, gateway),
                    merchant_account_id = COALESCE($5, merchant_account_id), transaction_id = COALESCE($6, transaction_id),
                    authorized = COALESCE($7, authorized), captured = captured + $8, refunded = refunded + $9,
                    decline_code = COALESCE($10, decline_code), failure_reason = COALESCE($11, failure_reason),
                    updated_at = $12
             WHERE id = $1 AND status = $2",
            &[
                &id,
                &from.as_str(),
                &c.status.map(PaymentStatus::as_str),
                &c.gateway.map(GatewayKind::as_str),
                &c.merchant_account_id,
                &c.transaction_id,
                &c.authorized,
                &c.add_captured,
                &c.add_refunded,
                &c.decline_code,
                &c.failure_reason,
                &now,
            ],
        )
        .await?;
    Ok(n == 1)
}

pub async fn insert_history(
    db: &Transaction<'_>,
    tenant: Uuid,
    payment: Uuid,
    from: Option<PaymentStatus>,
    to: PaymentStatus,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    db.execute(
        "INSERT INTO payment_history (id, tenant_id, payment_id, from_status, to_status, reason, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&Uuid::now_v7(), &tenant, &payment, &from.map(PaymentStatus::as_str), &to.as_str(), &reason, &now],
    )
    .await?;
    Ok(())
}

pub async fn insert_discrepancy(
    db: &Transaction<'_>,
    tenant: Uuid,
    payment: Uuid,
    kind: &str,
    detail: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    db.execute(
        "INSERT INTO payment_discrepancies (id, tenant_id, payment_id, kind, detail, found_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&Uuid::now_v7(), &tenant, &payment, &kind, &detail, &now],
    )
    .await?;
    Ok(())
}

/// The acting tenant's payments, newest first.
pub async fn list_payments(
    db: &Transaction<'_>,
    f: &PaymentFilter,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<Payment>, Error> {
    let rows = db
        .query(
            &format!(
                "SELECT {PAYMENT} FROM payments p
                 WHERE ($1::text IS NULL OR p.status = $1) AND ($2::uuid IS NULL OR p.order_id = $2)
                   AND ($3::text IS NULL OR p.gateway = $3) AND ($4::timestamptz IS NULL OR p.created_at >= $4)
                   AND ($5::timestamptz IS NULL OR p.created_at < $5) AND ($6::uuid IS NULL OR p.id < $6)
                 ORDER BY p.id DESC LIMIT $7"
            ),
            &[&f.status, &f.order_id, &f.gateway, &f.from, &f.to, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(payment).collect())
}

/// Attempts in `statuses` across every tenant (ops role), oldest first, with their payment and
/// tenant.
pub async fn attempts_in(
    db: &Transaction<'_>,
    statuses: &[&str],
    now: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<OpenAttempt>, Error> {
    let statuses: Vec<String> = statuses.iter().map(|s| (*s).to_owned()).collect();
    let rows = db
        .query(
            &format!(
                "SELECT tenant_id, payment_id, {ATTEMPT} FROM payment_attempts WHERE status = ANY($1)
                 ORDER BY created_at LIMIT $2"
            ),
            &[&statuses, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let a = attempt(r);
            OpenAttempt {
                tenant_id: r.get("tenant_id"),
                payment_id: r.get("payment_id"),
                age_seconds: (now - a.created_at).num_seconds().max(0),
                attempt: a,
            }
        })
        .collect())
}

pub async fn open_discrepancies(db: &Transaction<'_>, limit: i64) -> Result<Vec<Discrepancy>, Error> {
    let rows = db
        .query(
            "SELECT tenant_id, payment_id, kind, detail, found_at FROM payment_discrepancies WHERE resolved_at IS NULL
             ORDER BY found_at DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Discrepancy {
            tenant_id: r.get("tenant_id"),
            payment_id: r.get("payment_id"),
            kind: r.get("kind"),
            detail: r.get("detail"),
            found_at: r.get("found_at"),
        })
        .collect())
}

/// One shipment's charge of an order, by its reference.
pub async fn shipment(
    db: &Transaction<'_>,
    order: Uuid,
    reference: &str,
) -> Result<Option<crate::payments::service::shipments::ShipmentCharge>, Error> {
    let row = db
        .query_opt(
            "SELECT shipment_ref, amount, charged, how, payment_id FROM payment_shipments
              WHERE order_id = $1 AND shipment_ref = $2",
            &[&order, &reference],
        )
        .await?;
    Ok(row.map(|r| crate::payments::service::shipments::ShipmentCharge {
        reference: r.get(0),
        amount: r.get(1),
        charged: r.get(2),
        how: r.get(3),
        payment_id: r.get(4),
        pending: false,
    }))
}

/// What an order's shipments so far amount to.
pub async fn shipped_total(db: &Transaction<'_>, order: Uuid) -> Result<i64, Error> {
    let row = db
        .query_one(
            "SELECT COALESCE(sum(amount), 0)::bigint FROM payment_shipments WHERE order_id = $1 AND how <> 'released'",
            &[&order],
        )
        .await?;
    Ok(row.get(0))
}

/// Records a shipment's charge; false when that shipment is recorded already.
pub async fn insert_shipment(
    db: &Transaction<'_>,
    tenant: Uuid,
    order: Uuid,
    s: &crate::payments::service::shipments::ShipmentCharge,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, Error> {
    let inserted = db
        .execute(
            "INSERT INTO payment_shipments (id, tenant_id, order_id, shipment_ref, amount, charged, how, payment_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[&Uuid::now_v7(), &tenant, &order, &s.reference, &s.amount, &s.charged, &s.how, &s.payment_id, &now],
        )
        .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => Ok(false),
        Err(e) => Err(Error::Store(e)),
    }
}

/// The payment holding transaction `txn` at merchant account `account` (any tenant: ops), and its
/// tenant.
pub async fn payment_by_transaction(
    db: &Transaction<'_>,
    account: Uuid,
    txn: &str,
) -> Result<Option<(Uuid, Payment)>, Error> {
    let row = db
        .query_opt(
            &format!("SELECT p.tenant_id, {PAYMENT} FROM payments p WHERE p.merchant_account_id = $1 AND p.transaction_id = $2"),
            &[&account, &txn],
        )
        .await?;
    Ok(row.map(|r| (r.get("tenant_id"), payment(&r))))
}

/// The attempt carrying our `reference` (any tenant: ops), and its tenant.
pub async fn attempt_by_reference(
    db: &Transaction<'_>,
    reference: &str,
) -> Result<Option<(Uuid, Attempt)>, Error> {
    let row = db
        .query_opt(
            &format!("SELECT tenant_id, {ATTEMPT} FROM payment_attempts WHERE reference = $1"),
            &[&reference],
        )
        .await?;
    Ok(row.map(|r| (r.get("tenant_id"), attempt(&r))))
}

/// Payments captured at `account` whose last change falls between `from` and `to` (any tenant).
pub async fn captured_at_account(
    db: &Transaction<'_>,
    account: Uuid,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(Uuid, Payment)>, Error> {
    let rows = db
        .query(
            &format!(
                "SELECT p.tenant_id, {PAYMENT} FROM payments p
                  WHERE p.merchant_account_id = $1 AND p.status = 'captured' AND p.updated_at BETWEEN $2 AND $3
                  ORDER BY p.updated_at LIMIT 1000"
            ),
            &[&account, &from, &to],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get("tenant_id"), payment(r))).collect())
}

/// Order payments still only authorized, made before `before` (any tenant: ops).
pub async fn authorized_before(
    db: &Transaction<'_>,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(Uuid, Payment)>, Error> {
    let rows = db
        .query(
            &format!(
                "SELECT p.tenant_id, {PAYMENT} FROM payments p
                  WHERE p.status = 'authorized' AND p.purpose = 'order' AND p.created_at < $1
                  ORDER BY p.created_at LIMIT 100"
            ),
            &[&before],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get("tenant_id"), payment(r))).collect())
}

/// Re-authorizations made but not yet the order's payment (a hand-over a run left unfinished).
pub async fn reauthorizations(db: &Transaction<'_>) -> Result<Vec<(Uuid, Payment)>, Error> {
    let rows = db
        .query(
            &format!(
                "SELECT p.tenant_id, {PAYMENT} FROM payments p
                  WHERE p.status = 'authorized' AND p.purpose = 'reauthorization' ORDER BY p.created_at LIMIT 100"
            ),
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get("tenant_id"), payment(r))).collect())
}

/// A re-authorization becomes the order's payment (once the one it replaces is voided).
pub async fn make_order_payment(db: &Transaction<'_>, id: Uuid) -> Result<(), Error> {
    db.execute("UPDATE payments SET purpose = 'order' WHERE id = $1", &[&id]).await?;
    Ok(())
}
