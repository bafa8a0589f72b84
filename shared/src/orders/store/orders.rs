//! Orders in Postgres: writing an evaluated order (order, lines, history, its event in the outbox,
//! one exception per hold — one transaction), reading one back, and moving it between states.

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::orders::events::OrderEvent;
use crate::orders::model::{Error, STUCK, stuck_subject};
use crate::orders::model::{HistoryEntry, Line, Order, OrderEventEntry, OrderFilter, OrderStatus, Origin};
use crate::orders::service::intake::{Evaluation, Hold};
use crate::orders::{Address, OrderInput};
use crate::platform::events::Envelope;
use crate::platform::exceptions::{self, NewException, Severity};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const SELECT: &str = "SELECT o.id, o.number, o.status, o.source, o.channel_id, o.external_id, o.currency,
        o.customer_email, o.customer_name, o.shipping_address, o.billing_address, o.payment_source, o.payment_status,
        o.payment_reference, o.subtotal_minor, o.discount_minor, o.shipping_minor, o.tax_minor, o.total_minor,
        o.pricing, o.promotion_codes, o.notes, o.placed_at, o.created_at, o.updated_at, o.placed_by,
        o.payment_method_id
   FROM orders o";

pub fn order(r: &Row) -> Order {
    Order {
        id: r.get(0),
        number: r.get(1),
        status: OrderStatus::parse(r.get(2)).unwrap_or(OrderStatus::NeedsReview),
        source: r.get(3),
        channel_id: r.get(4),
        external_id: r.get(5),
        currency: r.get(6),
        customer_email: r.get(7),
        customer_name: r.get(8),
        shipping_address: r.get(9),
        billing_address: r.get(10),
        payment_source: r.get(11),
        payment_status: r.get(12),
        payment_reference: r.get(13),
        subtotal: r.get(14),
        discount: r.get(15),
        shipping: r.get(16),
        tax: r.get(17),
        total: r.get(18),
        pricing: r.get(19),
        promotion_codes: r.get(20),
        notes: r.get(21),
        placed_at: r.get(22),
        created_at: r.get(23),
        updated_at: r.get(24),
        placed_by: r.get(25),
        payment_method_id: r.get(26),
        lines: Vec::new(),
    }
}

/// The order `id` with its lines (404 if the acting tenant has none).
pub async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Order, Error> {
    let mut found = crate::platform::db::by_id(tx, SELECT, "o", id, lock, order)
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {id}")))?;
    found.lines = tx
        .query(
            "SELECT line_no, tenant_sku, channel_product_id, channel_variant_id, name, product_id, platform_sku, quantity,
                    unit_price_minor, discount_minor, tax_minor, total_minor
               FROM order_lines WHERE order_id = $1 ORDER BY line_no",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| Line {
            line_no: r.get(0),
            tenant_sku: r.get(1),
            channel_product_id: r.get(2),
            channel_variant_id: r.get(3),
            name: r.get(4),
            product_id: r.get(5),
            platform_sku: r.get(6),
            quantity: r.get(7),
            unit_price: r.get(8),
            discount: r.get(9),
            tax: r.get(10),
            total: r.get(11),
        })
        .collect();
    Ok(found)
}

fn address(a: &Option<Address>) -> Option<serde_json::Value> {
    a.as_ref().and_then(|a| serde_json::to_value(a).ok())
}

/// The order already made for this idempotency key or channel order id, if any, with the
/// fingerprint of the input it was taken from (none for orders older than fingerprints).
pub async fn existing(
    tx: &Transaction<'_>,
    tenant: TenantId,
    origin: &Origin,
    external_id: Option<&str>,
) -> Result<Option<(Uuid, Option<Vec<u8>>)>, Error> {
    Ok(tx
        .query_opt(
            "SELECT id, input_fingerprint FROM orders WHERE tenant_id = $1
                AND (($2::text IS NOT NULL AND idempotency_key = $2)
                  OR ($4::text IS NOT NULL AND channel_id IS NOT DISTINCT FROM $3 AND external_id = $4))
              LIMIT 1",
            &[&tenant.as_uuid(), &origin.idempotency_key, &origin.channel_id, &external_id],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// Writes an evaluated order, its lines, its first history entry, its event (outbox and order
/// events) and an exception per hold. `None` if an order with the same idempotency key or channel
/// order id already exists (the unique constraints decide, so two racing writers make one order).
pub async fn insert(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    origin: &Origin,
    input: &OrderInput,
    ev: &Evaluation,
    now: DateTime<Utc>,
) -> Result<Option<(Uuid, Envelope)>, Error> {
    let id = Uuid::now_v7();
    // The number last: the tenant's counter row stays locked only until this transaction ends.
    let number: i64 = tx
        .query_one(
            "INSERT INTO order_numbers (tenant_id, last) VALUES ($1, 1)
             ON CONFLICT (tenant_id) DO UPDATE SET last = order_numbers.last + 1 RETURNING last",
            &[&tenant.as_uuid()],
        )
        .await?
        .get(0);
    let customer_email = input.customer.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    let inserted = tx
        .execute(
            "INSERT INTO orders (id, tenant_id, number, status, channel_id, source, external_id, idempotency_key, currency,
                                 customer_email, customer_name, customer_phone, shipping_address, billing_address,
                                 payment_source, payment_token, payment_status, payment_reference, subtotal_minor,
                                 discount_minor, shipping_minor, tax_minor, total_minor, pricing, promotion_codes, notes,
                                 profile_version, placed_by, placed_at, created_at, updated_at, input_fingerprint,
                                 payment_method_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                     $22, $23, $24, $25, $26, $27, $28, $29, $29, $29, $30, $31)
             ON CONFLICT DO NOTHING",
            &[
                &id,
                &tenant.as_uuid(),
                &number,
                &ev.status.as_str(),
                &origin.channel_id,
                &origin.source,
                &input.external_id.as_deref().map(str::trim),
                &origin.idempotency_key,
                &ev.currency,
                &customer_email,
                &input.customer.name,
                &input.customer.phone,
                &address(&input.shipping_address),
                &address(&input.billing_address),
                &input.payment.source,
                &input.payment.token.as_ref().filter(|_| input.payment.source == "token"),
                &input.payment.status.as_deref().map(str::to_ascii_lowercase),
                &input.payment.reference,
                &ev.subtotal,
                &ev.discount,
                &ev.shipping,
                &ev.tax,
                &ev.total,
                &ev.pricing,
                &input.promotion_codes,
                &input.notes,
                &origin.profile_version,
                &origin.placed_by,
                &now,
                &input.fingerprint(),
                &input.payment.payment_method_id.filter(|_| input.payment.source == "token"),
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    for (i, l) in ev.lines.iter().enumerate() {
        tx.execute(
            "INSERT INTO order_lines (id, tenant_id, order_id, line_no, tenant_sku, channel_product_id, channel_variant_id,
                                      name, product_id, platform_sku, quantity, unit_price_minor, discount_minor, tax_minor,
                                      total_minor)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &Uuid::now_v7(),
                &tenant.as_uuid(),
                &id,
                &(i as i32 + 1),
                &l.tenant_sku,
                &l.channel_product_id,
                &l.channel_variant_id,
                &l.name,
                &l.product_id,
                &l.platform_sku,
                &(l.quantity as i32),
                &l.unit_price,
                &l.discount,
                &l.tax,
                &l.total,
            ],
        )
        .await?;
    }
    let envelope =
        transition(tx, state, tenant, id, None, ev.status, &reason(&ev.holds), origin.actor, now).await?;
    record_holds(tx, tenant, id, &ev.holds, now).await?;
    Ok(Some((id, envelope)))
}

fn reason(holds: &[Hold]) -> String {
    if holds.is_empty() {
        "validated, mapped and priced".into()
    } else {
        holds.iter().map(|h| h.kind.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// One open exception per hold (an order that is re-held gets its open ones replaced).
pub async fn record_holds(
    tx: &Transaction<'_>,
    tenant: TenantId,
    order: Uuid,
    holds: &[Hold],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    for h in holds {
        let subject = match h.line {
            Some(line) => format!("order/{order}/line/{line}"),
            None => format!("order/{order}"),
        };
        let ex = NewException::new(h.kind.clone(), "intake", Severity::Warning, h.detail.clone())
            .tenant(Some(tenant))
            .order(order)
            .subject(subject)
            .details(serde_json::json!({ "line": h.line }));
        exceptions::open(tx, &ex, now).await?;
    }
    Ok(())
}

/// Moves an order to `to` (history, order event, outbox event) if the state machine allows it, and
/// returns the envelope to publish after commit. `from` is `None` for a new order.
#[allow(clippy::too_many_arguments)]
pub async fn transition(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    order: Uuid,
    from: Option<OrderStatus>,
    to: OrderStatus,
    reason: &str,
    actor: (&'static str, Option<Uuid>),
    now: DateTime<Utc>,
) -> Result<Envelope, Error> {
    let kind = crate::orders::model::transition(from, to)?;
    if let Some(left) = from {
        tx.execute(
            "UPDATE orders SET status = $2, updated_at = $3 WHERE id = $1",
            &[&order, &to.as_str(), &now],
        )
        .await?;
        // It was stuck there: not any more.
        let subject = stuck_subject(order, left);
        exceptions::resolve_subject(
            tx,
            STUCK,
            &subject,
            &format!("the order moved on to {}", to.as_str()),
            now,
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO order_status_history (id, tenant_id, order_id, from_status, to_status, reason, actor_kind, actor_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &Uuid::now_v7(),
            &tenant.as_uuid(),
            &order,
            &from.map(OrderStatus::as_str),
            &to.as_str(),
            &reason,
            &actor.0,
            &actor.1,
            &now,
        ],
    )
    .await?;
    record_event(tx, state, tenant, order, kind, to, now).await
}

/// Records the order's event `kind` (the order in `status`) in the outbox and in its own events.
pub async fn record_event(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    order: Uuid,
    kind: crate::orders::model::OrderEventType,
    status: OrderStatus,
    now: DateTime<Utc>,
) -> Result<Envelope, Error> {
    let row = tx
        .query_one(
            "SELECT number, source, currency, total_minor, payment_source FROM orders WHERE id = $1",
            &[&order],
        )
        .await?;
    let data = OrderEvent {
        order_id: order,
        number: row.get(0),
        status,
        source: row.get(1),
        currency: row.get(2),
        total: row.get(3),
        payment_source: row.get(4),
        holds: exceptions::open_kinds(tx, order).await?,
    };
    let envelope = crate::orders::events::record(tx, tenant, state.clock().as_ref(), kind, &data).await?;
    tx.execute(
        "INSERT INTO order_events (id, tenant_id, order_id, event_type, data, at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&envelope.id, &tenant.as_uuid(), &order, &envelope.event_type, &envelope.data, &now],
    )
    .await?;
    Ok(envelope)
}

/// Records in a cancelled order's history one thing its cancellation undid (stock released, a
/// payment voided or refunded, promotions given back): an entry from and to `cancelled`.
pub async fn record_undo(
    tx: &Transaction<'_>,
    tenant: TenantId,
    order: Uuid,
    what: &str,
    actor: (&'static str, Option<Uuid>),
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO order_status_history (id, tenant_id, order_id, from_status, to_status, reason, actor_kind, actor_id, at)
         VALUES ($1, $2, $3, 'cancelled', 'cancelled', $4, $5, $6, $7)",
        &[&Uuid::now_v7(), &tenant.as_uuid(), &order, &what, &actor.0, &actor.1, &now],
    )
    .await?;
    Ok(())
}

/// Orders (every tenant's: the operations role) in one of `statuses` whose last change of state is
/// older than `before`, oldest first: (tenant, id, number, status, since).
pub async fn unmoved(
    tx: &Transaction<'_>,
    statuses: &[&str],
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid, i64, String, DateTime<Utc>)>, Error> {
    let statuses: Vec<String> = statuses.iter().map(|s| (*s).to_owned()).collect();
    let rows = tx
        .query(
            "SELECT o.tenant_id, o.id, o.number, o.status, h.at
               FROM orders o
               JOIN LATERAL (SELECT max(at) AS at FROM order_status_history h WHERE h.order_id = o.id) h ON true
              WHERE o.status = ANY($1) AND h.at < $2
              ORDER BY h.at LIMIT $3",
            &[&statuses, &before, &limit],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect())
}

/// The tenant's orders in review with a line no mapping resolved whose SKU or channel product id is
/// one of `identifiers` (lowercase).
pub async fn held_with_unmapped(
    tx: &Transaction<'_>,
    tenant: TenantId,
    identifiers: &[String],
) -> Result<Vec<Uuid>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "SELECT DISTINCT o.id FROM orders o
               JOIN order_lines l ON l.order_id = o.id AND l.product_id IS NULL
              WHERE o.tenant_id = $1 AND o.status = 'needs_review'
                AND (lower(l.tenant_sku) = ANY($2) OR lower(l.channel_product_id) = ANY($2))
              ORDER BY o.id",
            &[&tenant.as_uuid(), &identifiers],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// The state an order on hold left (to go back to on release).
pub async fn held_from(
    tx: &Transaction<'_>,
    order: Uuid,
) -> Result<Option<OrderStatus>, tokio_postgres::Error> {
    let back: Option<String> =
        tx.query_one("SELECT held_from FROM orders WHERE id = $1", &[&order]).await?.get(0);
    Ok(back.as_deref().and_then(OrderStatus::parse))
}

pub async fn set_held_from(
    tx: &Transaction<'_>,
    order: Uuid,
    from: Option<OrderStatus>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE orders SET held_from = $2 WHERE id = $1", &[&order, &from.map(OrderStatus::as_str)])
        .await?;
    Ok(())
}

/// Records the channel's word on an order's payment (e.g. pending → paid).
pub async fn update_payment(
    tx: &Transaction<'_>,
    id: Uuid,
    status: Option<&str>,
    reference: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE orders SET payment_status = $2, payment_reference = COALESCE($3, payment_reference), updated_at = $4
          WHERE id = $1",
        &[&id, &status.map(str::to_ascii_lowercase), &reference, &now],
    )
    .await?;
    Ok(())
}

/// An order's status as stored.
pub async fn status(tx: &Transaction<'_>, id: Uuid) -> Result<String, tokio_postgres::Error> {
    Ok(tx.query_one("SELECT status FROM orders WHERE id = $1", &[&id]).await?.get(0))
}

/// One page (`limit + 1` rows, newest first, before `cursor`) of the tenant's orders that match
/// `f` (and were placed by `own`, when given).
pub async fn list(
    tx: &Transaction<'_>,
    tenant: TenantId,
    f: &OrderFilter,
    own: Option<Uuid>,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<Order>, tokio_postgres::Error> {
    let rows = tx
        .query(
            &format!(
                "{} WHERE o.tenant_id = $1 AND ($2::text IS NULL OR o.status = $2) AND ($3::uuid IS NULL OR o.channel_id = $3)
                   AND ($4::text IS NULL OR o.source = $4) AND ($5::timestamptz IS NULL OR o.placed_at >= $5)
                   AND ($6::timestamptz IS NULL OR o.placed_at < $6)
                   AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id
                        AND (lower(l.platform_sku) = lower($7) OR lower(l.tenant_sku) = lower($7))))
                   AND ($8::text IS NULL OR lower(o.customer_email) = lower($8))
                   AND ($9::text IS NULL OR o.external_id = $9) AND ($10::uuid IS NULL OR o.placed_by = $10)
                   AND ($11::uuid IS NULL OR o.id < $11)
                 ORDER BY o.id DESC LIMIT $12",
                SELECT
            ),
            &[
                &tenant.as_uuid(),
                &f.status,
                &f.channel_id,
                &f.source,
                &f.since,
                &f.until,
                &f.sku,
                &f.customer_email,
                &f.external_id,
                &own,
                &cursor,
                &(limit + 1),
            ],
        )
        .await?;
    Ok(rows.iter().map(order).collect())
}

/// An order's status history, oldest first.
pub async fn history(tx: &Transaction<'_>, id: Uuid) -> Result<Vec<HistoryEntry>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "SELECT from_status, to_status, reason, actor_kind, at FROM order_status_history WHERE order_id = $1 ORDER BY at, id",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| HistoryEntry { from_status: r.get(0), to_status: r.get(1), reason: r.get(2), actor_kind: r.get(3), at: r.get(4) })
        .collect())
}

/// An order's events, oldest first.
pub async fn events(tx: &Transaction<'_>, id: Uuid) -> Result<Vec<OrderEventEntry>, tokio_postgres::Error> {
    Ok(tx
        .query("SELECT id, event_type, data, at FROM order_events WHERE order_id = $1 ORDER BY id", &[&id])
        .await?
        .iter()
        .map(|r| OrderEventEntry { id: r.get(0), event_type: r.get(1), data: r.get(2), at: r.get(3) })
        .collect())
}

/// Changes what is given of an order's addresses and notes.
pub async fn readdress(
    tx: &Transaction<'_>,
    id: Uuid,
    shipping: Option<&Address>,
    billing: Option<&Address>,
    notes: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let addr = |a: Option<&Address>| a.and_then(|a| serde_json::to_value(a).ok());
    tx.execute(
        "UPDATE orders SET shipping_address = COALESCE($2, shipping_address), billing_address = COALESCE($3, billing_address),
                notes = COALESCE($4, notes), updated_at = $5 WHERE id = $1",
        &[&id, &addr(shipping), &addr(billing), &notes, &now],
    )
    .await?;
    Ok(())
}

/// The payment token an order was placed with (only `token` orders have one).
pub async fn payment_token(tx: &Transaction<'_>, id: Uuid) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(tx.query_one("SELECT payment_token FROM orders WHERE id = $1", &[&id]).await?.get(0))
}

/// The stored method an order is paid with from now on (`None`: keep the one it has), its
/// one-time token forgotten.
pub async fn use_payment_method(
    tx: &Transaction<'_>,
    id: Uuid,
    method: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE orders SET payment_method_id = COALESCE($2, payment_method_id), payment_token = NULL, updated_at = $3
          WHERE id = $1",
        &[&id, &method, &now],
    )
    .await?;
    Ok(())
}

/// Writes a re-evaluation's lines and amounts over the order's.
pub async fn reprice(
    tx: &Transaction<'_>,
    id: Uuid,
    ev: &Evaluation,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    for (i, l) in ev.lines.iter().enumerate() {
        tx.execute(
            "UPDATE order_lines SET product_id = $3, platform_sku = $4, unit_price_minor = $5, discount_minor = $6,
                    total_minor = $7 WHERE order_id = $1 AND line_no = $2",
            &[&id, &(i as i32 + 1), &l.product_id, &l.platform_sku, &l.unit_price, &l.discount, &l.total],
        )
        .await?;
    }
    tx.execute(
        "UPDATE orders SET subtotal_minor = $2, discount_minor = $3, total_minor = $4, pricing = $5, updated_at = $6 WHERE id = $1",
        &[&id, &ev.subtotal, &ev.discount, &ev.total, &ev.pricing, &now],
    )
    .await?;
    Ok(())
}
