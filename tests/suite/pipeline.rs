//! The payment step of the order pipeline (`payment-authorize` on `order.accepted`), the retry of a
//! failed payment, captures that follow shipments, and the reconcilers — judged by the order as
//! the API shows it and by the money in the sandbox's own books.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::charges::{Shop, customer_books, net_charge, reconcile, reconcile_in_two_processes, settings};
use crate::support::unique;
use crate::world::World;

/// Every `order.accepted` event of the order, oldest first, as the step's queue delivers them.
pub async fn accepted(
    w: &World,
    order: &str,
) -> Vec<gateway::platform::consumer::Delivery<gateway::orders::events::OrderEvent>> {
    deliveries(w, order, "order.accepted").await
}

/// Every event of `event_type` about the order, oldest first, as a queue delivers them.
pub async fn deliveries(
    w: &World,
    order: &str,
    event_type: &str,
) -> Vec<gateway::platform::consumer::Delivery<gateway::orders::events::OrderEvent>> {
    let rows =
        w.db.admin()
            .await
            .query(
                "SELECT id, tenant_id, event_type, event_version, occurred_at, data FROM outbox
              WHERE event_type = $2 AND data->>'order_id' = $1 ORDER BY id",
                &[&order, &event_type],
            )
            .await
            .unwrap();
    rows.iter()
        .map(|r| {
            let at: chrono::DateTime<chrono::Utc> = r.get(4);
            let envelope = json!({"id": r.get::<_, Uuid>(0), "tenant_id": r.get::<_, Option<Uuid>>(1),
                "type": r.get::<_, String>(2), "version": r.get::<_, i32>(3), "occurred_at": at, "data": r.get::<_, Value>(5)});
            gateway::platform::consumer::Delivery {
                message_id: unique(),
                receive_count: 1,
                envelope: serde_json::from_value(envelope).unwrap(),
            }
        })
        .collect()
}

/// Runs the payment step in this process on the order's latest `order.accepted`.
pub async fn step(w: &World, order: &str) {
    let delivery = accepted(w, order).await.pop().expect("an order.accepted event");
    gateway::payments::consumers::on_order_accepted(&w.state, delivery).await.unwrap();
}

pub async fn order_of(shop: &Shop, id: &str) -> Value {
    shop.w.get(format!("/api/v1/orders/{id}")).by(&shop.admin).expect(200).await
}

async fn payments_of(shop: &Shop, order: &str) -> Vec<Value> {
    let page = shop.w.get(format!("/api/v1/payments?order_id={order}")).by(&shop.admin).expect(200).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The sandbox's transactions made for the order's payments (found by each attempt's reference).
pub async fn order_books(shop: &Shop, order: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for p in payments_of(shop, order).await {
        let p = shop.payment(p["id"].as_str().unwrap()).await;
        for a in p["attempts"].as_array().unwrap() {
            let gateway = a["gateway"].as_str().unwrap();
            for t in shop.s.ledger(gateway, a["reference"].as_str().unwrap()).await {
                if t["reference"] == a["reference"] {
                    out.push(t);
                }
            }
        }
    }
    out
}

pub fn net(books: &[Value]) -> i64 {
    books.iter().map(|t| t["net"].as_i64().unwrap() + t["pending_hold"].as_i64().unwrap()).sum()
}

/// Polls the order (through the API) until it has reached `status` (the pipeline may have moved it
/// on since); the order then.
pub async fn until(shop: &Shop, id: &str, status: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = order_of(shop, id).await;
        if history(&last).contains(&status) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("order {id} never reached {status}: {last}");
}

pub fn history(order: &Value) -> Vec<&str> {
    order["history"].as_array().unwrap().iter().map(|h| h["to_status"].as_str().unwrap()).collect()
}

/// Orders pay by themselves: bus → rule → queue → `payment-authorize` in another process. A token
/// order is authorized for its total; a declined one fails with an exception and an email to the
/// tenant's operations contacts, and retried with a good method it is authorized.
#[tokio::test]
async fn an_order_pays_by_itself_through_the_bus_and_a_declined_one_is_retried() {
    let shop = Shop::open().await;
    shop.w
        .put("/api/v1/settings/notifications.operations_emails", json!({"value": ["ops@clinic.example"]}))
        .by(&shop.admin)
        .expect(200)
        .await;
    let twin = shop.w.twin_with(&settings()).await;
    let token = shop.s.token("nmi").await;
    let made = shop.place(2, None, json!({"source": "token", "token": token})).await;
    assert_eq!(made["status"], "accepted", "{made}");
    let id = made["id"].as_str().unwrap();
    let paid = until(&shop, id, "payment_authorized").await;
    assert_eq!(history(&paid)[..2], ["accepted", "payment_authorized"], "{paid}");
    let books = order_books(&shop, id).await;
    assert_eq!(books.len(), 1, "{books:?}");
    assert_eq!(
        (books[0]["provider"].as_str(), books[0]["type"].as_str(), books[0]["authorized"].as_i64()),
        (Some("nmi"), Some("auth"), Some(2000)),
        "{books:?}"
    );
    assert_eq!(books[0]["state"], "authorized");
    assert!(shop.w.outbox("order.payment_authorized").await.iter().any(|e| e["order_id"] == id));
    // The token is spent: the order no longer holds it.
    let kept: Option<String> = shop
        .w
        .db
        .admin()
        .await
        .query_one("SELECT payment_token FROM orders WHERE id = $1", &[&id.parse::<Uuid>().unwrap()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, None);

    // 0.50: the NMI sandbox declines amounts under 1.00.
    let token = shop.s.token("nmi").await;
    let made = shop.place(1, Some(50), json!({"source": "token", "token": token})).await;
    let id = made["id"].as_str().unwrap();
    // Held for its price (the list says 10.00); a person agrees to the price and it is accepted.
    assert_eq!(made["status"], "needs_review", "{made}");
    let held = order_of(&shop, id).await;
    let exception = held["exceptions"][0]["id"].as_str().unwrap();
    shop.w
        .post(format!("/api/v1/admin/exceptions/{exception}/resolve"), json!({"resolution": "agreed price"}))
        .by(&shop.admin)
        .expect(200)
        .await;
    let accepted =
        shop.w.call("POST", &format!("/api/v1/orders/{id}/revalidate"), Some(&shop.admin.token), None).await;
    assert_eq!(accepted.body["status"], "accepted", "{}", accepted.body);
    let failed = until(&shop, id, "payment_failed").await;
    let open: Vec<&Value> =
        failed["exceptions"].as_array().unwrap().iter().filter(|e| e["status"] == "open").collect();
    assert_eq!((open.len(), open[0]["kind"].as_str()), (1, Some("payment_failed")), "{failed}");
    assert_eq!(open[0]["details"]["decline_code"], "200", "{failed}");
    let number = failed["number"].as_i64().unwrap();
    let mail = twin.mail_containing(&format!("Payment failed for order {number}")).await;
    assert!(mail.contains("ops@clinic.example"), "an email to the operations contact: {mail:?}");

    // Retried with a good method (a card at Authorize.net): authorized, the exception resolved.
    let good = json!({"customer_email": "jane@example.com", "tokens": {"authorize_net": shop.s.token("authorize_net").await},
        "brand": "visa", "last4": "1111", "exp_month": 12, "exp_year": 2030});
    let retried = shop
        .w
        .post(format!("/api/v1/orders/{id}/payment"), json!({"payment_method": good}))
        .by(&shop.admin)
        .header("idempotency-key", unique())
        .send()
        .await;
    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(
        (retried.body["status"].as_str(), retried.body["gateway"].as_str()),
        (Some("authorized"), Some("authorize_net"))
    );
    // (The failure was written by the other process, on the wall clock; the retry here, on this
    // world's clock: the history's order by time says nothing. The other process's stock step may
    // have moved the order on since.)
    let order = order_of(&shop, id).await;
    let moved = history(&order);
    for status in ["needs_review", "accepted", "payment_failed", "payment_authorized"] {
        assert!(moved.contains(&status), "{status}: {order}");
    }
    assert!(order["exceptions"].as_array().unwrap().iter().all(|e| e["status"] == "resolved"), "{order}");
    // A second retry is refused: the order is no longer payment_failed.
    let again = shop
        .w
        .post(format!("/api/v1/orders/{id}/payment"), json!({}))
        .by(&shop.admin)
        .header("idempotency-key", unique())
        .send()
        .await;
    assert_eq!((again.status.as_u16(), again.body["code"].as_str()), (409, Some("order_not_payment_failed")));
    let books = order_books(&shop, id).await;
    assert_eq!(net(&books), 50, "the authorization's hold, once: {books:?}");
    twin.stop().await;
}

/// `external` and `terms` orders pass without a gateway call; a duplicate or late delivery of the
/// same event changes nothing.
#[tokio::test]
async fn terms_orders_pass_without_a_gateway_call_and_a_duplicate_delivery_changes_nothing() {
    let shop = Shop::open().await;
    let calls =
        |b: Value| b["calls"]["nmi"].as_i64().unwrap() + b["calls"]["authorize_net"].as_i64().unwrap();
    let before = calls(shop.s.books().await);
    let id = shop.order(1).await;
    step(&shop.w, &id).await;
    step(&shop.w, &id).await;
    let order = order_of(&shop, &id).await;
    assert_eq!(history(&order), ["accepted", "payment_authorized"], "{order}");
    assert_eq!(calls(shop.s.books().await), before, "no gateway was called");

    let (method, card) = shop.method(false).await;
    let made = shop.place(3, None, json!({"source": "token", "payment_method_id": method})).await;
    let id = made["id"].as_str().unwrap();
    step(&shop.w, id).await;
    step(&shop.w, id).await;
    assert_eq!(order_of(&shop, id).await["status"], "payment_authorized");
    assert_eq!(payments_of(&shop, id).await.len(), 1, "one payment for one event");
    let books = customer_books(&shop.s, &card).await;
    assert_eq!(books.len(), 1, "{books:?}");
    assert_eq!(books[0]["authorized"], 3000);
}

/// NMI approves but its answer never arrives: the order is `payment_pending`. Two reconciler
/// processes at once (the clock moved) find the charge and complete it once; the order moves on.
/// Exactly one charge.
#[tokio::test]
async fn a_lost_answer_leaves_the_order_pending_until_the_reconciler_completes_it() {
    let mut env = settings();
    env.push(("PAYMENTS_RECONCILE_AFTER_SECONDS", "60".into()));
    let shop = Shop::open_with(&env).await;
    let (method, card) = shop.method(true).await;
    let made = shop.place(2, None, json!({"source": "token", "payment_method_id": method})).await;
    let id = made["id"].as_str().unwrap();
    shop.s.fault("nmi", "drop_after_processing", Some(1), None).await;
    step(&shop.w, id).await;
    let pending = order_of(&shop, id).await;
    assert_eq!(history(&pending), ["accepted", "payment_pending"], "{pending}");
    assert_eq!(net_charge(&shop.s, &card).await, 2000, "NMI holds it");
    assert_eq!(reconcile(&shop.w).await["open"], 0, "too young to be asked about");
    // A minute later, on the clock the two reconciler processes read: they complete it once.
    let clock_file = std::env::temp_dir().join(format!("clock-{}", unique()));
    gateway::OffsetFileClock::write(&clock_file, chrono::Duration::minutes(2)).unwrap();
    env.push(("CLOCK_OFFSET_FILE", clock_file.display().to_string()));
    let (completed, reports) = reconcile_in_two_processes(&shop.w, &env, "completed").await;
    std::fs::remove_file(&clock_file).ok();
    assert_eq!(completed, 1, "{reports}");
    let order = order_of(&shop, id).await;
    // (The other processes' stock step may have moved it on since.)
    assert_eq!(history(&order)[..3], ["accepted", "payment_pending", "payment_authorized"], "{order}");
    assert_eq!(net_charge(&shop.s, &card).await, 2000, "{:?}", customer_books(&shop.s, &card).await);
    assert_eq!(customer_books(&shop.s, &card).await.len(), 1, "never sent elsewhere");
}

/// A failed order retried while NMI's answer is lost: 202, the order `payment_pending`; the
/// reconciler completes it and the order is authorized. One charge.
#[tokio::test]
async fn a_retry_whose_answer_is_lost_is_pending_until_the_reconciler_completes_it() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(true).await;
    let id = shop.order(2).await;
    // Declined by hand (the NMI sandbox declines under 1.00): the order's payment failed.
    let declined = json!({"order_id": id, "payment_method_id": method, "amount": 50});
    shop.charge(declined, &unique()).expect(402).await;
    assert_eq!(order_of(&shop, &id).await["status"], "payment_failed");
    shop.s.fault("nmi", "drop_after_processing", Some(1), None).await;
    let key = unique();
    let retry = || {
        shop.w
            .post(format!("/api/v1/orders/{id}/payment"), json!({"payment_method_id": method}))
            .by(&shop.admin)
            .header("idempotency-key", key.clone())
    };
    let r = retry().send().await;
    assert_eq!((r.status.as_u16(), r.body["status"].as_str()), (202, Some("pending")), "{}", r.body);
    assert_eq!(order_of(&shop, &id).await["status"], "payment_pending");
    shop.w.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(reconcile(&shop.w).await["completed"], 1);
    assert_eq!(order_of(&shop, &id).await["status"], "payment_authorized");
    // The same key again answers the payment as it now is; still one charge.
    let again = retry().send().await;
    assert_eq!(
        (again.status.as_u16(), again.body["status"].as_str()),
        (201, Some("authorized")),
        "{}",
        again.body
    );
    assert_eq!(net_charge(&shop.s, &card).await, 2000, "{:?}", customer_books(&shop.s, &card).await);
}

/// The same lost answer, but the order is cancelled meanwhile: two reconciler processes at once,
/// the authorization voided once. Net charge: zero.
#[tokio::test]
async fn a_lost_answer_for_an_order_cancelled_meanwhile_is_voided_once_by_two_reconcilers() {
    let mut env = settings();
    env.push(("PAYMENTS_RECONCILE_AFTER_SECONDS", "0".into()));
    let shop = Shop::open_with(&env).await;
    let (method, card) = shop.method(true).await;
    let made = shop.place(2, None, json!({"source": "token", "payment_method_id": method})).await;
    let id = made["id"].as_str().unwrap();
    shop.s.fault("nmi", "drop_after_processing", Some(1), None).await;
    step(&shop.w, id).await;
    assert_eq!(order_of(&shop, id).await["status"], "payment_pending");
    shop.cancel(id).await;
    let (voided, reports) = reconcile_in_two_processes(&shop.w, &env, "voided").await;
    assert_eq!(voided, 1, "{reports}");
    assert_eq!(net_charge(&shop.s, &card).await, 0, "{:?}", customer_books(&shop.s, &card).await);
    let p = payments_of(&shop, id).await;
    assert_eq!((p.len(), p[0]["status"].as_str()), (1, Some("voided")), "{p:?}");
    assert_eq!(order_of(&shop, id).await["status"], "cancelled");
}

/// An order held before the step runs is not charged; released (a fresh `order.accepted`), it is.
#[tokio::test]
async fn an_order_held_before_the_step_is_not_charged_and_released_it_is() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(false).await;
    let made = shop.place(1, None, json!({"source": "token", "payment_method_id": method})).await;
    let id = made["id"].as_str().unwrap();
    let patch = |action: &str| json!({"action": action, "reason": "address check"});
    shop.w.patch(format!("/api/v1/orders/{id}"), patch("hold")).by(&shop.admin).expect(200).await;
    step(&shop.w, id).await;
    assert_eq!(order_of(&shop, id).await["status"], "on_hold");
    assert!(customer_books(&shop.s, &card).await.is_empty(), "not charged while held");
    shop.w.patch(format!("/api/v1/orders/{id}"), patch("release")).by(&shop.admin).expect(200).await;
    let events = accepted(&shop.w, id).await;
    assert_eq!(events.len(), 2, "the release published a fresh order.accepted");
    assert_ne!(events[0].envelope.id, events[1].envelope.id);
    step(&shop.w, id).await;
    let order = order_of(&shop, id).await;
    assert_eq!(history(&order), ["accepted", "on_hold", "accepted", "payment_authorized"], "{order}");
    assert_eq!(net_charge(&shop.s, &card).await, 1000);
}

/// A cancel committed while the authorization is in flight (NMI answers slowly): the step ends
/// with the authorization voided at the sandbox.
#[tokio::test]
async fn a_cancel_during_the_authorization_ends_with_it_voided() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(false).await;
    let made = shop.place(2, None, json!({"source": "token", "payment_method_id": method})).await;
    let id = made["id"].as_str().unwrap().to_owned();
    shop.s.fault("nmi", "delay", Some(1), Some(1500)).await;
    let cancel = async {
        // Once the authorization has reached NMI (the sandbox logged the call), cancel.
        for _ in 0..200 {
            let books = shop.s.books().await;
            if books["call_log"].as_array().unwrap().iter().any(|c| c["op"] == "auth") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        shop.w
            .patch(format!("/api/v1/orders/{id}"), json!({"action": "cancel", "reason": "customer called"}))
            .by(&shop.admin)
            .expect(200)
            .await;
    };
    futures::future::join(step(&shop.w, &id), cancel).await;
    let books = customer_books(&shop.s, &card).await;
    assert_eq!((books.len(), books[0]["state"].as_str()), (1, Some("voided")), "{books:?}");
    assert_eq!(net_charge(&shop.s, &card).await, 0);
    let order = order_of(&shop, &id).await;
    assert_eq!(order["status"], "cancelled", "{order}");
    let p = payments_of(&shop, &id).await;
    assert_eq!(p[0]["status"], "voided", "{p:?}");
}

/// Two shipments of a four-unit order (1 then 2 units ship; the fourth never does), under each
/// tenant setting: the sandbox's books show exactly the shipped 30.00 charged, nothing else.
#[tokio::test]
async fn captures_follow_two_shipments_under_each_setting() {
    for mode in ["per_shipment", "whole"] {
        let shop = Shop::open().await;
        shop.w
            .put("/api/v1/settings/payments.capture", json!({"value": mode}))
            .by(&shop.admin)
            .expect(200)
            .await;
        let (method, card) = shop.method(true).await;
        let made = shop.place(4, None, json!({"source": "token", "payment_method_id": method})).await;
        let id = made["id"].as_str().unwrap();
        step(&shop.w, id).await;
        assert_eq!(order_of(&shop, id).await["status"], "payment_authorized");
        let order: Uuid = id.parse().unwrap();
        let ship = |reference: &str, amount: i64| gateway::payments::Shipment {
            reference: reference.into(),
            amount,
        };
        let first =
            gateway::payments::charge_shipment(&shop.w.state, shop.tenant, order, &ship("box-1", 1000))
                .await
                .unwrap();
        let second =
            gateway::payments::charge_shipment(&shop.w.state, shop.tenant, order, &ship("box-2", 2000))
                .await
                .unwrap();
        // The same shipment again changes nothing.
        let repeated =
            gateway::payments::charge_shipment(&shop.w.state, shop.tenant, order, &ship("box-1", 1000))
                .await
                .unwrap();
        assert_eq!(repeated, first);
        let released = gateway::payments::release_unshipped(&shop.w.state, shop.tenant, order).await.unwrap();
        match mode {
            "per_shipment" => {
                assert_eq!((first.how.as_str(), first.charged), ("capture", 1000), "{first:?}");
                assert_eq!((second.how.as_str(), second.charged), ("sale", 2000), "{second:?}");
                assert_eq!((released.voided, released.refunded), (0, 0));
            }
            _ => {
                assert_eq!((first.how.as_str(), first.charged), ("capture", 4000), "{first:?}");
                assert_eq!((second.how.as_str(), second.charged), ("covered", 0), "{second:?}");
                assert_eq!(released.refunded, 1000, "the unshipped unit, refunded");
                // The capture settles; the queued refund goes out after it.
                shop.s.settle("nmi").await;
                let sent = (gateway::registry::PAYMENTS_REFUNDS_DUE.handler)(&shop.w.state, json!({}))
                    .await
                    .unwrap();
                assert_eq!(sent["sent"], 1, "{sent}");
            }
        }
        let books = customer_books(&shop.s, &card).await;
        assert_eq!(net_charge(&shop.s, &card).await, 3000, "{mode}: {books:?}");
        assert!(books.iter().all(|t| t["provider"] == "nmi"), "{mode}: {books:?}");
    }
}

/// A partial authorization about to expire (a backorder) is renewed on the stored method: a new
/// authorization, the old one voided. A token order's cannot be: an exception says so.
#[tokio::test]
async fn an_authorization_about_to_expire_is_renewed_on_the_stored_method() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(false).await;
    let made = shop.place(2, None, json!({"source": "token", "payment_method_id": method})).await;
    let stored = made["id"].as_str().unwrap().to_owned();
    step(&shop.w, &stored).await;
    let token = shop.s.token("nmi").await;
    let made = shop.place(1, None, json!({"source": "token", "token": token})).await;
    let tokened = made["id"].as_str().unwrap().to_owned();
    step(&shop.w, &tokened).await;
    let run = || async {
        (gateway::registry::PAYMENTS_REAUTHORIZE.handler)(&shop.w.state, json!({})).await.unwrap()
    };
    assert_eq!(run().await["reauthorized"], 0, "young authorizations are left alone");
    shop.w.clock.advance(chrono::Duration::days(6) + chrono::Duration::hours(1));
    let report = run().await;
    assert_eq!((report["reauthorized"].as_i64(), report["raised"].as_i64()), (Some(1), Some(1)), "{report}");
    // Days later: a fresh sign-in reads the outcome.
    let reader = shop.w.person(shop.tenant, &["TENANT_ADMIN"]).await;
    let page = shop.w.get(format!("/api/v1/payments?order_id={stored}")).by(&reader).expect(200).await;
    let p = page["items"].as_array().unwrap();
    let statuses: Vec<&str> = p.iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "authorized").count(), 1, "{p:?}");
    assert!(statuses.contains(&"voided"), "{p:?}");
    let books = customer_books(&shop.s, &card).await;
    let states: Vec<&str> = books.iter().map(|t| t["state"].as_str().unwrap()).collect();
    assert_eq!(states.len(), 2, "{books:?}");
    assert!(states.contains(&"voided") && states.contains(&"authorized"), "{books:?}");
    assert_eq!(net_charge(&shop.s, &card).await, 2000, "one live hold");
    let order = shop.w.get(format!("/api/v1/orders/{tokened}")).by(&reader).expect(200).await;
    assert!(
        order["exceptions"].as_array().unwrap().iter().any(|e| e["kind"] == "authorization_expiring"),
        "{order}"
    );
    // A second run finds nothing new to do and raises nothing twice.
    let again = run().await;
    assert_eq!(again["reauthorized"], 0, "{again}");
}

/// The daily settlement reconciliation: every mismatch between a gateway's settled transactions
/// and our books becomes one exception (never twice), and refunds queued until settlement go out.
#[tokio::test]
async fn settlement_reconciliation_raises_each_mismatch_once_and_sends_queued_refunds() {
    let shop = Shop::open().await;
    let (method, _card) = shop.method(false).await;
    let body = |order: &str| json!({"order_id": order, "payment_method_id": method});
    let sale = shop.charge(body(&shop.order(3).await), &unique()).expect(201).await;
    let tampered = shop.charge(body(&shop.order(1).await), &unique()).expect(201).await;
    // A partial refund before settlement waits for it.
    let queued = shop
        .operate("/api/v1/payments/refund".into(), json!({"payment_id": sale["id"], "amount": 500}))
        .send()
        .await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    // Our books say something else than the gateway for one payment.
    shop.w
        .db
        .admin()
        .await
        .execute(
            "UPDATE payments SET captured = 900 WHERE id = $1",
            &[&tampered["id"].as_str().unwrap().parse::<Uuid>().unwrap()],
        )
        .await
        .unwrap();
    shop.s.settle("nmi").await;
    let run = || async {
        (gateway::registry::PAYMENTS_SETTLEMENT.handler)(&shop.w.state, json!({})).await.unwrap()
    };
    let report = run().await;
    let kinds: Vec<&str> =
        report["mismatches"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["amount_differs"], "{report}");
    assert_eq!(report["refunds"]["sent"], 1, "{report}");
    let p = shop.payment(sale["id"].as_str().unwrap()).await;
    assert_eq!(p["refunded"], 500, "{p}");
    let list =
        shop.w.get("/api/v1/admin/exceptions?kind=settlement_mismatch").by(&shop.admin).expect(200).await;
    assert_eq!(list["counts"]["settlement_mismatch"], 1, "{list}");
    run().await;
    let list =
        shop.w.get("/api/v1/admin/exceptions?kind=settlement_mismatch").by(&shop.admin).expect(200).await;
    assert_eq!(list["counts"]["settlement_mismatch"], 1, "not raised twice: {list}");
}
