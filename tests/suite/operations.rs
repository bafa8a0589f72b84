//! Operations: the stuck-order sweep, judged by the exceptions an operator sees through the API;
//! cancellation that undoes everything, judged by the stock ledger and the sandbox's books.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::charges::{Shop, customer_books, invoke_in_two_processes, net_charge, settings};
use crate::inventory::{mismatches, receive, warehouse};
use crate::pipeline::{deliveries, history, net, order_books, order_of, step, until};
use crate::support::unique;

/// The tenant's `stuck_order` exceptions of `order` in `status` (open or resolved).
async fn stuck(shop: &Shop, order: &str, status: &str) -> Vec<Value> {
    let path = format!("/api/v1/admin/exceptions?kind=stuck_order&order_id={order}&status={status}");
    let page = shop.w.get(path).by(&shop.admin).expect(200).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// An order held for review (a SKU nobody maps) and left there: before its limit the sweep finds
/// nothing; past it (the clock moved, not slept) two sweeps at once in two processes raise one
/// exception, and a later one changes nothing; when the order moves on, the exception resolves
/// itself. The tenant's limit for the state (setting `orders.stuck_after_minutes`) rules.
///
/// (A held order, not a pending payment: the payment reconciler that would move a pending one on
/// works across tenants, and would take the other tests' pending payments with it.)
#[tokio::test]
async fn an_order_left_past_its_limit_is_raised_once_by_two_sweeps_and_resolves_itself() {
    let shop = Shop::open().await;
    let w = &shop.w;
    // 6 minutes for this tenant's held orders (the default is a day): no other test's order is
    // anywhere near its own limit when the clock moves.
    w.put("/api/v1/settings/orders.stuck_after_minutes", json!({"value": {"needs_review": 6}}))
        .by(&shop.admin)
        .expect(200)
        .await;
    w.put("/api/v1/settings/notifications.operations_emails", json!({"value": ["ops@clinic.example"]}))
        .by(&shop.admin)
        .expect(200)
        .await;
    let bad = w.put("/api/v1/settings/orders.stuck_after_minutes", json!({"value": {"delivered": 6}}));
    bad.by(&shop.admin).expect(422).await;
    let body = json!({"currency": "USD", "customer": {"email": "jane@example.com"},
        "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
        "lines": [{"sku": format!("NOBODY-{}", unique()), "quantity": 1}], "payment": {"source": "terms"}});
    let made = w.post("/api/v1/orders", body).by(&shop.admin).expect(201).await;
    let id = made["id"].as_str().unwrap();
    assert_eq!(made["status"], "needs_review", "{made}");
    let sweep =
        || async { (gateway::registry::OPERATIONS_SWEEP.handler)(&w.state, json!({})).await.unwrap() };
    sweep().await;
    assert_eq!(stuck(&shop, id, "open").await, Vec::<Value>::new(), "not past its limit yet");

    // 7 minutes later, on the clock the two sweep processes read.
    let clock_file = std::env::temp_dir().join(format!("clock-{}", unique()));
    gateway::OffsetFileClock::write(&clock_file, chrono::Duration::minutes(7)).unwrap();
    let mut env = settings();
    env.push(("CLOCK_OFFSET_FILE", clock_file.display().to_string()));
    let (a, b) = invoke_in_two_processes(w, &env, "operations-sweep").await;
    std::fs::remove_file(&clock_file).ok();
    let open = stuck(&shop, id, "open").await;
    assert_eq!(open.len(), 1, "once, from two sweeps at once: {open:?} ({a} {b})");
    assert_eq!(
        (open[0]["details"]["status"].as_str(), open[0]["details"]["limit_minutes"].as_i64()),
        (Some("needs_review"), Some(6)),
        "{open:?}"
    );
    assert!(a["stuck"].as_i64().unwrap() >= 1 && b["stuck"].as_i64().unwrap() >= 1, "{a} {b}");
    // The tenant's operations contact is told once, with the exception to open.
    let number = made["number"].as_i64().unwrap();
    let told: Vec<Value> = w
        .outbox("notification.email_requested")
        .await
        .into_iter()
        .filter(|m| m["params"]["subject"] == format!("Order {number} is stuck in needs_review").as_str())
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["to"], "ops@clinic.example");
    let link = format!("/api/v1/admin/exceptions/{}", open[0]["id"].as_str().unwrap());
    assert!(told[0]["params"]["text"].as_str().unwrap().contains(&link), "{told:?}");
    w.clock.advance(chrono::Duration::minutes(7));
    sweep().await;
    assert_eq!(stuck(&shop, id, "open").await.len(), 1, "a later sweep adds nothing");
    let again = w.outbox("notification.email_requested").await;
    let subject = format!("Order {number} is stuck in needs_review");
    assert_eq!(
        again.iter().filter(|m| m["params"]["subject"] == subject.as_str()).count(),
        1,
        "nor tells again"
    );

    // The order moves on (here: cancelled): its stuck exception resolves itself.
    shop.cancel(id).await;
    assert_eq!(order_of(&shop, id).await["status"], "cancelled");
    assert_eq!(stuck(&shop, id, "open").await, Vec::<Value>::new());
    let resolved = stuck(&shop, id, "resolved").await;
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["resolution"], "the order moved on to cancelled", "{resolved:?}");
}

/// The tenant's order body: `quantity` units of the shop's product, paid with the stored
/// `method`, with `codes` to apply.
fn order_body(shop: &Shop, quantity: u32, method: &str, codes: &[&str]) -> Value {
    json!({"currency": "USD", "customer": {"email": "jane@example.com"},
        "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
        "lines": [{"sku": format!("T-{}", shop.platform_sku()), "quantity": quantity}],
        "payment": {"source": "token", "payment_method_id": method}, "promotion_codes": codes})
}

/// A platform warehouse holding `units` of the shop's product; its id.
async fn stocked(shop: &Shop, units: i64) -> String {
    let w = &shop.w;
    let staff = w.person(w.platform, &["SUPER_ADMIN"]).await;
    let picker = w.person(w.platform, &["WAREHOUSE_STAFF"]).await;
    let wh = warehouse(w, &staff, &format!("KY-{}", unique()), &["KY"]).await;
    receive(w, &picker, &wh, shop.platform_sku(), units).await;
    wh
}

/// The order's reservations still holding stock (reserved or committed).
async fn holding(shop: &Shop, order: &str) -> i64 {
    let db = shop.w.db.admin().await;
    let row = db
        .query_one(
            "SELECT count(*) FROM reservations WHERE order_id::text = $1 AND status IN ('reserved', 'committed')",
            &[&order],
        )
        .await
        .unwrap();
    row.get(0)
}

/// Cancelling an order in `inventory_reserved` whose payment was captured and has settled: the
/// stock is back to available (a `released` movement in the ledger), the money refunded at the
/// sandbox (its books net to zero), the promotion's use given back; each undo is in the order's
/// history. Cancelling again, and the cancellation's event delivered again, change nothing.
#[tokio::test]
async fn cancelling_a_reserved_settled_order_gives_back_stock_money_and_promotion_once() {
    let shop = Shop::open().await;
    let w = &shop.w;
    let wh = stocked(&shop, 10).await;
    let promo = w
        .post(
            "/api/v1/promotions",
            json!({"code": "SPRING", "discount_type": "percentage", "percent_bp": 1000, "usage_limit": 1}),
        )
        .by(&shop.admin)
        .expect(201)
        .await;
    let (method, card) = shop.method(false).await;
    let made = w
        .post("/api/v1/orders", order_body(&shop, 2, &method, &["spring"]))
        .by(&shop.admin)
        .expect(201)
        .await;
    let id = made["id"].as_str().unwrap();
    assert_eq!((made["status"].as_str(), made["total"].as_i64()), (Some("accepted"), Some(1800)), "{made}");
    // The promotion's one use is taken by this order.
    let promo_id = promo["id"].as_str().unwrap();
    let shop = &shop;
    let uses = |status: &'static str| async move {
        let page =
            w.get(format!("/api/v1/promotions/{promo_id}/redemptions")).by(&shop.admin).expect(200).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let promo = w.get(format!("/api/v1/promotions/{promo_id}")).by(&shop.admin).expect(200).await;
        assert_eq!(items.len(), 1, "{page}");
        assert_eq!(items[0]["order_ref"], id);
        assert_eq!(items[0]["released_at"].is_null(), status == "held", "{page}");
        promo["redemption_count"].as_i64().unwrap()
    };
    assert_eq!(uses("held").await, 1);
    let other =
        w.post("/api/v1/orders", order_body(shop, 1, &method, &["spring"])).by(&shop.admin).send().await;
    assert_eq!(other.status, 422, "the one use is taken: {}", other.body);

    step(w, id).await;
    let order: Uuid = id.parse().unwrap();
    let ops = w.state.ops_db().await.unwrap();
    let reserved = gateway::inventory::reserve_order(&w.state, ops, shop.tenant, order).await.unwrap();
    assert_eq!(reserved.map(|r| r.status), Some(gateway::orders::OrderStatus::InventoryReserved));
    let available = || async {
        let l = w.get(format!("/api/v1/inventory?warehouse_id={wh}")).by(&shop.finance).expect(200).await;
        l["items"][0]["available"].as_i64().unwrap()
    };
    assert_eq!(available().await, 8);
    let payments = w.get(format!("/api/v1/payments?order_id={id}")).by(&shop.admin).expect(200).await;
    let payment = payments["items"][0]["id"].as_str().unwrap().to_owned();
    let captured = shop.operate(format!("/api/v1/payments/{payment}/capture"), json!({})).expect(200).await;
    assert_eq!(captured["status"], "captured", "{captured}");
    shop.s.settle("nmi").await;
    assert_eq!(net_charge(&shop.s, &card).await, 1800, "charged and settled");

    shop.cancel(id).await;
    // The undo steps, as their queues deliver `order.cancelled` (twice: a duplicate changes nothing).
    let undo = || async {
        for d in deliveries(w, id, "order.cancelled").await {
            gateway::inventory::consumers::on_order_cancelled(&w.state, d.clone()).await.unwrap();
            gateway::payments::consumers::on_order_cancelled(&w.state, d).await.unwrap();
        }
    };
    undo().await;
    assert_eq!(available().await, 10, "the stock is back");
    assert_eq!(holding(shop, id).await, 0);
    let moves =
        w.get(format!("/api/v1/inventory/movements?order_id={id}")).by(&shop.finance).expect(200).await;
    let reasons: Vec<&str> =
        moves["items"].as_array().unwrap().iter().map(|m| m["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.iter().filter(|r| **r == "released").count(), 1, "{moves}");
    assert!(mismatches(w).await.is_empty());
    let books = customer_books(&shop.s, &card).await;
    assert_eq!(net_charge(&shop.s, &card).await, 0, "refunded: {books:?}");
    let refunds: Vec<&Value> = books
        .iter()
        .flat_map(|t| t["actions"].as_array().unwrap())
        .filter(|a| a["type"] == "refund")
        .collect();
    assert_eq!(refunds.len(), 1, "a refund, the capture having settled: {books:?}");
    assert_eq!(refunds[0]["amount"], 1800);
    assert_eq!(uses("released").await, 0, "the promotion's use is given back");
    let cancelled = order_of(shop, id).await;
    let undone: Vec<&str> = cancelled["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["from_status"] == "cancelled")
        .map(|h| h["reason"].as_str().unwrap())
        .collect();
    assert_eq!(undone.len(), 3, "{cancelled}");
    assert!(undone.iter().any(|r| r.starts_with("stock released: 2 units")), "{undone:?}");
    assert!(undone.contains(&"18.00 USD refunded"), "{undone:?}");
    assert!(undone.contains(&"promotion redemptions released: SPRING"), "{undone:?}");

    // Again: refused (it is cancelled), and the events delivered again: nothing more moves.
    let again = w
        .patch(format!("/api/v1/orders/{id}"), json!({"action": "cancel", "reason": "again"}))
        .by(&shop.admin)
        .send()
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    undo().await;
    assert_eq!(customer_books(&shop.s, &card).await, books, "no second refund");
    assert_eq!(available().await, 10);
    let moves_after =
        w.get(format!("/api/v1/inventory/movements?order_id={id}")).by(&shop.finance).expect(200).await;
    assert_eq!(moves_after["items"].as_array().unwrap().len(), moves["items"].as_array().unwrap().len());
    assert_eq!(order_of(shop, id).await["history"], cancelled["history"], "nothing undone twice");
    assert_eq!(uses("released").await, 0);
    // The use given back can be taken by another order.
    w.post("/api/v1/orders", order_body(shop, 1, &method, &["spring"])).by(&shop.admin).expect(201).await;
}

/// 52 orders (four at a time), each cancelled at a random moment while the pipeline (payment, then reservation)
/// runs in another process: every one ends cancelled, with nothing reserved for it, no money held
/// at the sandbox (any authorization voided), and the levels equal to the ledger.
#[tokio::test]
async fn a_cancel_racing_the_pipeline_in_another_process_always_ends_consistent() {
    // Four at a time, with pools big enough for them in each process.
    let pool = [("DB_POOL_SIZE", "8".to_owned())];
    let shop = Shop::open_with(&pool).await;
    let w = &shop.w;
    stocked(&shop, 1000).await;
    let (method, _) = shop.method(false).await;
    let twin = w.twin_with(&[settings(), pool.to_vec()].concat()).await;
    let shop = &shop;
    let method = method.as_str();
    let run = |delay_ms: u64| async move {
        let made =
            shop.w.post("/api/v1/orders", order_body(shop, 1, method, &[])).by(&shop.admin).expect(201).await;
        let id = made["id"].as_str().unwrap().to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        shop.cancel(&id).await;
        // Settled: cancelled, nothing held, the sandbox's books for its payments at zero.
        for _ in 0..300 {
            let books = order_books(shop, &id).await;
            if holding(shop, &id).await == 0
                && net(&books) == 0
                && books.iter().all(|t| t["state"] != "authorized")
            {
                let order = order_of(shop, &id).await;
                assert_eq!(order["status"], "cancelled", "{order}");
                return order;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "order {id} (cancelled after {delay_ms} ms) still holds stock or money: {:?}",
            order_books(shop, &id).await
        );
    };
    let mut reached = std::collections::BTreeMap::new();
    let mut all = Vec::new();
    for round in 0..13 {
        let delays: Vec<u64> = (0..4).map(|_| (Uuid::new_v4().as_u128() % 1500) as u64).collect();
        let done = futures::future::join_all(delays.iter().map(|d| run(*d))).await;
        all.extend(done.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        for order in &done {
            // The furthest the pipeline got before the cancel. (By the states the history holds,
            // not their times: the other process writes on the wall clock, this one on its own.)
            let seen = history(order);
            let furthest = ["inventory_reserved", "payment_authorized", "payment_pending", "accepted"]
                .into_iter()
                .find(|s| seen.contains(s))
                .unwrap_or_default();
            *reached.entry(furthest).or_insert(0) += 1;
        }
        assert!(mismatches(w).await.is_empty(), "round {round}: the levels equal the ledger");
    }
    // The cancels landed in more than one window of the pipeline, the reservation's among them.
    assert!(reached.len() >= 2, "{reached:?}");
    assert!(
        reached.contains_key("payment_authorized") || reached.contains_key("inventory_reserved"),
        "{reached:?}"
    );
    // Once every step has had its say (its queue drained), nothing came back to life: no order
    // holds stock, no authorization is live at the sandbox.
    let sqs = w.state.sqs().await.unwrap();
    for step in ["payment-authorize", "inventory-reserve", "payment-release", "inventory-release"] {
        let url = sqs.get_queue_url().queue_name(format!("{}-{step}", w.stack)).send().await.unwrap();
        let url = url.queue_url().unwrap().to_owned();
        for _ in 0..300 {
            use aws_sdk_sqs::types::QueueAttributeName as A;
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .unwrap();
            let n =
                |a: A| attrs.attributes().and_then(|m| m.get(&a)).map_or(0, |v| v.parse::<u64>().unwrap());
            if n(A::ApproximateNumberOfMessages) + n(A::ApproximateNumberOfMessagesNotVisible) == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    for id in &all {
        let books = order_books(shop, id).await;
        assert_eq!((holding(shop, id).await, net(&books)), (0, 0), "{id}: {books:?}");
        assert!(books.iter().all(|t| t["state"] != "authorized"), "{id}: {books:?}");
        assert_eq!(order_of(shop, id).await["status"], "cancelled");
    }
    assert_eq!(all.len(), 52);
    twin.stop().await;
}

/// Queues that give a failed message back at once and dead-letter it on its third delivery.
fn quick_queues() -> Vec<(&'static str, String)> {
    let mut env = settings();
    env.push(("LOCAL_VISIBILITY_TIMEOUT", "0".into()));
    env.push(("CFN_PARAM_MaxReceiveCount", "3".into()));
    env
}

/// The payment step fails every delivery (in the other process that runs the pipeline): the
/// order's event ends in the step's dead-letter queue with a `dead_letter` exception, and the DLQ
/// route shows it with its tenant and order. The fault cleared (the process restarted without
/// it), the message replayed from the API carries the order to `inventory_reserved`, the
/// exception resolves, the queue is empty, and the replay is in the audit log.
#[tokio::test]
async fn a_payment_step_failing_every_delivery_is_dead_lettered_and_replayed_to_inventory_reserved() {
    let shop = Shop::open().await;
    let w = &shop.w;
    stocked(&shop, 10).await;
    let (method, _) = shop.method(false).await;
    let ops = w.person(w.platform, &["OPERATIONS_ADMIN"]).await;
    let mut failing = quick_queues();
    failing.push(("GATEWAY_TEST_FAIL_CONSUMER", "payment-authorize".into()));
    let twin = w.twin_with(&failing).await;
    let made = w.post("/api/v1/orders", order_body(&shop, 1, &method, &[])).by(&shop.admin).expect(201).await;
    let id = made["id"].as_str().unwrap();
    let ops = &ops;
    let queue = || async move {
        let all = w.get("/api/v1/admin/dlq?queue=payment-authorize").by(ops).expect(200).await;
        all["queues"][0].clone()
    };
    let mut dlq = Value::Null;
    for _ in 0..300 {
        dlq = queue().await;
        if dlq["depth"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(dlq["depth"], 1, "dead-lettered: {dlq}");
    let letter = &dlq["messages"][0];
    assert_eq!(
        (letter["order_id"].as_str(), letter["tenant_id"].as_str(), letter["event_type"].as_str()),
        (Some(id), Some(shop.tenant.to_string().as_str()), Some("order.accepted")),
        "{dlq}"
    );
    assert!(dlq["oldest_age_seconds"].is_i64(), "{dlq}");
    let message = letter["message_id"].as_str().unwrap().to_owned();
    let event: uuid::Uuid = letter["event_id"].as_str().unwrap().parse().unwrap();
    let exception = || async {
        let db = w.db.admin().await;
        let rows = db
            .query(
                "SELECT status, resolution, attempts, message_id FROM exception_records
                  WHERE kind = 'dead_letter' AND source = 'payment-authorize' AND event_id = $1",
                &[&event],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    r.get::<_, Option<String>>(1),
                    r.get::<_, i32>(2),
                    r.get::<_, String>(3),
                )
            })
            .collect::<Vec<_>>()
    };
    // (The emulator moves the message on its fourth receive, which the consumer's batching window
    // makes before the third delivery's handler has failed: the exception follows a moment later.)
    for _ in 0..100 {
        if !exception().await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        exception().await,
        [("open".to_owned(), None, 3, message.clone())],
        "one exception, on the last attempt"
    );
    assert_eq!(order_of(&shop, id).await["status"], "accepted", "the order did not move");
    // A tenant's admin sees no dead letters and cannot replay them.
    w.get("/api/v1/admin/dlq").by(&shop.admin).expect(403).await;
    // The sweep tells the platform's operations contacts once that the queue holds messages.
    let owner = w.person(w.platform, &["SUPER_ADMIN"]).await;
    w.put("/api/v1/settings/notifications.operations_emails", json!({"value": ["noc@regen.example"]}))
        .by(&owner)
        .expect(200)
        .await;
    let sweep =
        || async { (gateway::registry::OPERATIONS_SWEEP.handler)(&w.state, json!({})).await.unwrap() };
    let alerts = |status: &'static str| async move {
        let path = format!("/api/v1/admin/exceptions?kind=dead_letters_waiting&status={status}");
        let items = w.get(path).by(ops).expect(200).await["items"].as_array().cloned().unwrap_or_default();
        // (Only this queue's: with queues that hand messages back at once, other steps' messages
        // can be dead-lettered too — the emulator counts the poller's own re-receives.)
        items
            .into_iter()
            .filter(|e| e["detail"].as_str().unwrap().ends_with("of payment-authorize"))
            .collect::<Vec<_>>()
    };
    assert!(sweep().await["alerts_raised"].as_i64().unwrap() >= 1);
    let alert = alerts("open").await;
    assert_eq!(alert.len(), 1, "{alert:?}");
    sweep().await;
    assert_eq!(alerts("open").await.len(), 1, "once while it lasts");
    let told: Vec<Value> = w
        .outbox("notification.email_requested")
        .await
        .into_iter()
        .filter(|m| m["to"] == "noc@regen.example")
        .filter(|m| m["params"]["subject"].as_str().unwrap().ends_with("of payment-authorize"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    let link = format!("/api/v1/admin/exceptions/{}", alert[0]["id"].as_str().unwrap());
    assert!(told[0]["params"]["text"].as_str().unwrap().contains(&link), "{told:?}");

    // The fault cleared: the pipeline's process restarted without it; the message replayed.
    twin.stop().await;
    // (Queues as deployed again: a message handed back at once would be dead-lettered by the
    // poller's own re-receives while its handler runs.)
    let mut cleared = settings();
    cleared.extend([
        ("LOCAL_VISIBILITY_TIMEOUT", "60".to_owned()),
        ("CFN_PARAM_MaxReceiveCount", "3".to_owned()),
    ]);
    let twin = w.twin_with(&cleared).await;
    let bad =
        w.post("/api/v1/admin/dlq/payment-authorize/replay", json!({"all": true, "message_id": message}));
    bad.by(ops).expect(422).await;
    let replayed = w
        .post("/api/v1/admin/dlq/payment-authorize/replay", json!({"message_id": message}))
        .by(ops)
        .expect(200)
        .await;
    assert_eq!(replayed["replayed"], json!([message]), "{replayed}");
    let reserved = until(&shop, id, "inventory_reserved").await;
    assert!(history(&reserved).contains(&"payment_authorized"), "{reserved}");
    assert_eq!(
        exception().await,
        [("resolved".to_owned(), Some("replayed to its queue".to_owned()), 3, message.clone())]
    );
    assert_eq!(queue().await["depth"], 0);
    sweep().await;
    assert_eq!(
        (alerts("open").await.len(), alerts("resolved").await.len()),
        (0, 1),
        "the alert clears itself"
    );
    // Replaying it again finds nothing; the replay is audited.
    w.post("/api/v1/admin/dlq/payment-authorize/replay", json!({"message_id": message}))
        .by(ops)
        .expect(404)
        .await;
    assert!(w.audit_actions(Some(w.platform)).await.contains(&"dlq.replayed".to_owned()));
    twin.stop().await;
}

/// A payment whose answer was lost leaves its order in `payment_pending`. Past the tenant's limit
/// for that state (the clock moved, not slept) two sweeps at once in two processes raise it once;
/// `retry` publishes a fresh `order.accepted`, on which the payment step asks NMI about the
/// pending authorization (never charging again): the order moves on to `payment_authorized` and
/// the exception resolves itself. Pressed again, retry is refused (resolved), and the event
/// delivered again changes nothing at the gateway.
#[tokio::test]
async fn a_pending_payment_past_its_limit_is_raised_once_and_retry_moves_it_on() {
    let shop = Shop::open().await;
    let w = &shop.w;
    w.put("/api/v1/settings/orders.stuck_after_minutes", json!({"value": {"payment_pending": 6}}))
        .by(&shop.admin)
        .expect(200)
        .await;
    let (method, _) = shop.method(false).await;
    shop.s.fault("nmi", "drop_after_processing", Some(1), None).await;
    let made = w.post("/api/v1/orders", order_body(&shop, 1, &method, &[])).by(&shop.admin).expect(201).await;
    let id = made["id"].as_str().unwrap();
    step(w, id).await;
    assert_eq!(order_of(&shop, id).await["status"], "payment_pending");
    let books = order_books(&shop, id).await;
    assert_eq!(books.len(), 1, "the gateway took it; we did not hear: {books:?}");
    (gateway::registry::OPERATIONS_SWEEP.handler)(&w.state, json!({})).await.unwrap();
    assert_eq!(stuck(&shop, id, "open").await, Vec::<Value>::new(), "not past its limit yet");

    // The sweeps' processes run the pipeline's consumers too: the step already ran here on the
    // event still in its queue, so the queue is emptied first (or they would ask NMI themselves).
    let sqs = w.state.sqs().await.unwrap();
    let queue =
        sqs.get_queue_url().queue_name(format!("{}-payment-authorize", w.stack)).send().await.unwrap();
    sqs.purge_queue().queue_url(queue.queue_url().unwrap()).send().await.unwrap();
    let clock_file = std::env::temp_dir().join(format!("clock-{}", unique()));
    gateway::OffsetFileClock::write(&clock_file, chrono::Duration::minutes(7)).unwrap();
    let mut env = settings();
    env.push(("CLOCK_OFFSET_FILE", clock_file.display().to_string()));
    let (a, b) = invoke_in_two_processes(w, &env, "operations-sweep").await;
    std::fs::remove_file(&clock_file).ok();
    let open = stuck(&shop, id, "open").await;
    assert_eq!(open.len(), 1, "once, from two sweeps at once: {open:?} ({a} {b})");
    assert_eq!(open[0]["details"]["status"], "payment_pending", "{open:?}");
    assert_eq!(order_of(&shop, id).await["status"], "payment_pending");
    let list = w.get("/api/v1/admin/exceptions?kind=stuck_order").by(&shop.admin).expect(200).await;
    assert_eq!(list["counts"]["stuck_order"], 1, "{list}");
    assert_eq!(
        list["ages"].as_object().unwrap().values().filter_map(Value::as_i64).sum::<i64>(),
        1,
        "{list}"
    );
    // In full: what happened, the order's timeline, what can be done now.
    let full = w
        .get(format!("/api/v1/admin/exceptions/{}", open[0]["id"].as_str().unwrap()))
        .by(&shop.admin)
        .expect(200)
        .await;
    assert_eq!(full["order"]["status"], "payment_pending", "{full}");
    let timeline: Vec<&str> = full["order"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, ["accepted", "payment_pending"], "{full}");
    let actions: Vec<&str> =
        full["actions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["retry", "cancel", "resolve"], "{full}");

    let exception = open[0]["id"].as_str().unwrap();
    let retried = w
        .post(format!("/api/v1/admin/exceptions/{exception}/retry"), json!({}))
        .by(&shop.admin)
        .expect(202)
        .await;
    assert_eq!(retried["status"], "payment_pending", "re-driven, not moved yet: {retried}");
    assert_eq!(deliveries(w, id, "order.accepted").await.len(), 2, "a fresh order.accepted");
    step(w, id).await;
    let moved = order_of(&shop, id).await;
    assert_eq!(moved["status"], "payment_authorized", "{moved}");
    let resolved = stuck(&shop, id, "resolved").await;
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["resolution"], "the order moved on to payment_authorized");
    let after = order_books(&shop, id).await;
    assert_eq!((after.len(), net(&after)), (1, 1000), "asked, not charged again: {after:?}");

    let again =
        w.post(format!("/api/v1/admin/exceptions/{exception}/retry"), json!({})).by(&shop.admin).send().await;
    assert_eq!(
        (again.status.as_u16(), again.body["code"].as_str()),
        (409, Some("not_retryable")),
        "{}",
        again.body
    );
    step(w, id).await;
    assert_eq!(order_books(&shop, id).await, after, "a repeated delivery changes nothing");
    assert!(w.audit_actions(Some(shop.tenant)).await.contains(&"exception.retried".to_owned()));
}
