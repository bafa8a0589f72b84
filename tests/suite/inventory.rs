//! Stock: reservations that never oversell, from two OS processes at once, with bundles and with
//! orders touching two SKUs in opposite line order; the ledger always equals the levels.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::charges::{Shop, settings};
use crate::pipeline::{history, order_of, until};
use crate::support::unique;
use crate::world::{Person, World};

/// A platform warehouse made through the API by `staff`, serving `zones` nearest first; its id.
pub async fn warehouse(w: &World, staff: &Person, code: &str, zones: &[&str]) -> String {
    let body = json!({"code": code, "name": format!("Warehouse {code}"), "kind": "internal",
        "address": {"line1": "1 Dock Rd", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
        "zones": zones});
    let made = w.post("/api/v1/warehouses", body).by(staff).expect(201).await;
    made["id"].as_str().unwrap().to_owned()
}

/// `quantity` units of `sku` received at `warehouse` by `picker` (201); the answer.
pub async fn receive(w: &World, picker: &Person, warehouse: &str, sku: &str, quantity: i64) -> Value {
    let body =
        json!({"warehouse_id": warehouse, "platform_sku": sku, "quantity": quantity, "reference": "PO-1"});
    w.post("/api/v1/inventory/receive", body).by(picker).expect(201).await
}

/// The units of each of the order's reservations.
pub async fn held(w: &World, order: &str) -> Vec<i64> {
    let db = w.db.admin().await;
    let rows =
        db.query("SELECT quantity FROM reservations WHERE order_id::text = $1", &[&order]).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// Levels that differ from their ledger.
pub async fn mismatches(w: &World) -> Vec<(Uuid, String, String)> {
    gateway::inventory::ledger_mismatches(w.state.ops_db().await.unwrap()).await.unwrap()
}

/// 64 orders at once for two SKUs with 10 units each across two warehouses, reserved by the
/// pipeline in two other processes (bus → queue → `payment-authorize` → `inventory-reserve`):
/// exactly 10 units of each reserved, no level negative, the ledger equal to the levels, every
/// other unit backordered. A third of the orders are bundles (two lines of one SKU), a third touch
/// both SKUs in opposite line orders.
#[tokio::test]
async fn sixty_four_orders_at_once_reserve_exactly_the_stock_there_is() {
    let w = World::new().await;
    let tenant = w.tenant().await;
    w.unlimited(&[tenant, w.platform]).await;
    let admin = w.person(tenant, &["TENANT_ADMIN"]).await;
    let staff = w.person(w.platform, &["SUPER_ADMIN"]).await;
    let n = unique();
    let (a, b) = (format!("INV-A-{n}"), format!("INV-B-{n}"));
    for sku in [&a, &b] {
        w.product(&staff, sku, "Stocked", json!({})).await;
        w.post("/api/v1/catalog/items", json!({"platform_sku": sku, "tenant_sku": format!("T-{sku}")}))
            .by(&admin)
            .expect(201)
            .await;
    }
    let list = w
        .post("/api/v1/pricing/price-lists", json!({"name": "Retail", "currency": "USD"}))
        .by(&admin)
        .expect(201)
        .await;
    for sku in [&a, &b] {
        let path = format!("/api/v1/pricing/price-lists/{}/prices/{sku}", list["id"].as_str().unwrap());
        w.put(path, json!({"breaks": [{"min_quantity": 1, "unit_price": 1000}]}))
            .by(&admin)
            .expect(200)
            .await;
    }
    let mut warehouses = Vec::new();
    for (code, zones) in [("EAST", ["KY"]), ("WEST", ["CA"])] {
        warehouses.push(warehouse(&w, &staff, &format!("{code}-{n}"), &zones).await);
    }
    // 6 + 4 units of each SKU.
    let picker = w.person(w.platform, &["WAREHOUSE_STAFF"]).await;
    for sku in [&a, &b] {
        for (wh, q) in [(&warehouses[0], 6), (&warehouses[1], 4)] {
            receive(&w, &picker, wh, sku, q).await;
        }
    }
    let line = |sku: &str| json!({"sku": format!("T-{sku}"), "quantity": 1});
    let mut bodies = Vec::new();
    for i in 0..64 {
        let lines = match i % 4 {
            0 => json!([line(&a)]),
            1 => json!([line(&a), line(&a)]),
            2 => json!([line(&a), line(&b)]),
            _ => json!([line(&b), line(&a)]),
        };
        bodies.push(json!({"currency": "USD", "customer": {"email": "jane@example.com"},
            "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
            "lines": lines, "payment": {"source": "terms"}}));
    }
    // Placed first: their events wait in the queues until the two processes start and drain them
    // at once.
    let mut ids = Vec::new();
    for body in bodies {
        let r = w.post("/api/v1/orders", body).by(&admin).send().await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let (p1, p2) = futures::future::join(w.twin(), w.twin()).await;
    let db = w.db.admin().await;
    let mut statuses = Vec::new();
    for _ in 0..600 {
        statuses = db
            .query("SELECT status FROM orders WHERE id::text = ANY($1)", &[&ids])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>();
        if statuses.iter().all(|s| s == "inventory_reserved" || s == "backordered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    p1.stop().await;
    p2.stop().await;
    assert!(statuses.iter().all(|s| s == "inventory_reserved" || s == "backordered"), "{statuses:?}");
    for sku in [&a, &b] {
        let row = db
            .query_one(
                "SELECT sum(on_hand)::bigint, sum(reserved)::bigint, sum(backordered)::bigint, min(on_hand - reserved - committed)::bigint
                   FROM stock_levels WHERE platform_sku = $1",
                &[sku],
            )
            .await
            .unwrap();
        let (on_hand, reserved, backordered, least): (i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!((on_hand, reserved), (10, 10), "{sku}: exactly the stock there is, reserved");
        assert!(least >= 0, "{sku}: no level below zero");
        let demand: i64 = db
            .query_one(
                "SELECT sum(quantity)::bigint FROM order_lines WHERE platform_sku = $1 AND order_id::text = ANY($2)",
                &[sku, &ids],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(reserved + backordered, demand, "{sku}: every other unit backordered");
        let held: i64 = db
            .query_one(
                "SELECT COALESCE(sum(quantity), 0)::bigint FROM reservations WHERE platform_sku = $1",
                &[sku],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(held, 10, "{sku}: the reservations say the same");
    }
    assert_eq!(mismatches(&w).await, [], "the ledger equals the levels");
    // No reservation failed (a deadlock would have: a failed delivery or a dead letter).
    let failures: i64 = db
        .query_one(
            "SELECT count(*) FROM exception_records WHERE source = 'inventory-reserve' OR details::text LIKE '%deadlock%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(failures, 0, "no delivery failed");
}

/// The pipeline end to end, with no manual step (bus → queues → `payment-authorize` →
/// `inventory-reserve` in another process): a token order reaches `inventory_reserved`; an order
/// for more than is left is `backordered` with an alert (event, email, the alerts API); receiving
/// stock moves it to `inventory_reserved` by itself; cancelling an order releases its units.
#[tokio::test]
async fn orders_reserve_by_themselves_backorders_fill_when_stock_arrives_and_cancels_release() {
    let shop = Shop::open().await;
    let w = &shop.w;
    shop.w
        .put("/api/v1/settings/notifications.operations_emails", json!({"value": ["ops@clinic.example"]}))
        .by(&shop.admin)
        .expect(200)
        .await;
    let staff = w.person(w.platform, &["SUPER_ADMIN"]).await;
    let picker = w.person(w.platform, &["WAREHOUSE_STAFF"]).await;
    let sku = shop.platform_sku().to_owned();
    let wh = warehouse(w, &staff, &format!("KY-{}", unique()), &["KY"]).await;
    receive(w, &picker, &wh, &sku, 3).await;
    let twin = w.twin_with(&settings()).await;

    let token = shop.s.token("nmi").await;
    let first = shop.place(2, None, json!({"source": "token", "token": token})).await;
    let first = first["id"].as_str().unwrap().to_owned();
    let reserved = until(&shop, &first, "inventory_reserved").await;
    assert_eq!(history(&reserved), ["accepted", "payment_authorized", "inventory_reserved"], "{reserved}");
    let stock = w.get(format!("/api/v1/orders/{first}/reservations")).by(&shop.admin).expect(200).await;
    assert_eq!(stock["reservations"].as_array().unwrap().len(), 1, "{stock}");
    assert_eq!(
        (stock["reservations"][0]["warehouse_id"].as_str(), stock["reservations"][0]["quantity"].as_i64()),
        (Some(wh.as_str()), Some(2))
    );

    // 3 wanted, 1 left: 1 reserved, 2 backordered, and the tenant is told.
    let second = shop.order(3).await;
    let waiting = until(&shop, &second, "backordered").await;
    assert_eq!(waiting["status"], "backordered", "{waiting}");
    let alerts = w.get("/api/v1/inventory/alerts").by(&shop.admin).expect(200).await;
    let open: Vec<&Value> = alerts["backorders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["order_id"] == second.as_str())
        .collect();
    assert_eq!((open.len(), open[0]["quantity"].as_i64()), (1, Some(2)), "{alerts}");
    assert!(w.outbox("inventory.backordered").await.iter().any(|e| e["order_id"] == second.as_str()));
    // The owner sees the level low (0 available ≤ 5).
    let low = w.get("/api/v1/inventory/alerts").by(&picker).expect(200).await;
    assert!(
        low["low_stock"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["platform_sku"] == sku.as_str() && l["available"] == 0),
        "{low}"
    );
    assert!(w.outbox("inventory.low_stock").await.iter().any(|e| e["platform_sku"] == sku.as_str()));
    let number = waiting["number"].as_i64().unwrap();
    let mail = twin.mail_containing(&format!("Order {number} is backordered")).await;
    assert!(mail.contains("ops@clinic.example"), "an email to the operations contact: {mail:?}");

    // Stock arrives: the backorder fills by itself.
    let received = receive(w, &picker, &wh, &sku, 5).await;
    assert_eq!(received["filled_orders"], json!([second]), "{received}");
    let filled = order_of(&shop, &second).await;
    assert_eq!(filled["status"], "inventory_reserved", "{filled}");
    // (This process's clock stands still while the twin's runs: compare the history as a set.)
    let seen = history(&filled);
    assert!(seen.contains(&"backordered") && seen.contains(&"inventory_reserved"), "{filled}");
    let stock = w.get(format!("/api/v1/orders/{second}/reservations")).by(&shop.admin).expect(200).await;
    let held: i64 =
        stock["reservations"].as_array().unwrap().iter().map(|r| r["quantity"].as_i64().unwrap()).sum();
    assert_eq!((held, stock["backorders"][0]["status"].as_str()), (3, Some("filled")), "{stock}");

    // A cancel releases the first order's 2 units (inventory-release, on order.cancelled).
    shop.cancel(&first).await;
    let mut released = Value::Null;
    for _ in 0..300 {
        released = w.get(format!("/api/v1/orders/{first}/reservations")).by(&shop.admin).expect(200).await;
        if released["reservations"][0]["status"] == "released" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(released["reservations"][0]["status"], "released", "{released}");
    let levels = w.get(format!("/api/v1/inventory?platform_sku={sku}")).by(&picker).expect(200).await;
    assert_eq!(
        (levels["items"][0]["on_hand"].as_i64(), levels["items"][0]["reserved"].as_i64()),
        (Some(8), Some(3)),
        "{levels}"
    );
    let moves = w.get(format!("/api/v1/inventory/movements?order_id={first}")).by(&picker).expect(200).await;
    let reasons: Vec<&str> =
        moves["items"].as_array().unwrap().iter().map(|m| m["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["released", "reserved"], "newest first: {moves}");
    // The tenant sees what it sells is available, never the platform's levels or ledger.
    let seen =
        w.get(format!("/api/v1/inventory/availability?platform_sku={sku}")).by(&shop.admin).expect(200).await;
    assert_eq!(seen, json!([{"platform_sku": sku, "available": 5}]));
    let none = w.get("/api/v1/inventory").by(&shop.admin).expect(200).await;
    assert_eq!(none["items"], json!([]), "{none}");
    twin.stop().await;
    assert_eq!(mismatches(w).await, [], "the ledger equals the levels");
}

/// The step's process dies after its reservation committed and before SQS heard the message was
/// handled. The redelivery (its claim lapsed) reserves nothing new, and the order's event exists
/// once.
#[tokio::test]
async fn a_step_killed_after_its_commit_reserves_nothing_more_when_the_message_comes_back() {
    let shop = Shop::open().await;
    let w = &shop.w;
    let staff = w.person(w.platform, &["SUPER_ADMIN"]).await;
    let picker = w.person(w.platform, &["WAREHOUSE_STAFF"]).await;
    let wh = warehouse(w, &staff, &format!("KY-{}", unique()), &["KY"]).await;
    receive(w, &picker, &wh, shop.platform_sku(), 5).await;
    let mut env = settings();
    env.push(("GATEWAY_TEST_EXIT_AFTER_HANDLER", "inventory-reserve".into()));
    let mut twin = w.twin_with(&env).await;
    let order = shop.order(2).await;
    until(&shop, &order, "inventory_reserved").await;
    assert_eq!(twin.exited().await, Some(70), "the step's process died right after its commit");
    drop(twin);
    let db = w.db.admin().await;
    let before = held(w, &order).await;
    assert_eq!(before, [2]);
    // The message comes back (same event, a later delivery) after the dead process's claim lapsed.
    w.clock.advance(chrono::Duration::minutes(2));
    let row = db
        .query_one(
            "SELECT id, tenant_id, event_type, event_version, occurred_at, data FROM outbox
              WHERE event_type = 'order.payment_authorized' AND data->>'order_id' = $1",
            &[&order],
        )
        .await
        .unwrap();
    let at: chrono::DateTime<chrono::Utc> = row.get(4);
    let envelope = json!({"id": row.get::<_, Uuid>(0), "tenant_id": row.get::<_, Option<Uuid>>(1),
        "type": row.get::<_, String>(2), "version": row.get::<_, i32>(3), "occurred_at": at, "data": row.get::<_, Value>(5)});
    let body = json!({"detail-type": "order.payment_authorized", "detail": envelope});
    let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
    message.message_id = Some(unique());
    message.body = Some(body.to_string());
    message.attributes.insert("ApproximateReceiveCount".into(), "2".into());
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    event.records.push(message);
    let answer = gateway::platform::consumer::handle_batch(&w.state, "inventory-reserve", event, |d| {
        gateway::inventory::consumers::on_payment_authorized(&w.state, d)
    })
    .await;
    assert!(answer.batch_item_failures.is_empty(), "the redelivery was handled");
    let after = held(w, &order).await;
    assert_eq!(after, before, "nothing reserved twice");
    let events: i64 = db
        .query_one(
            "SELECT count(*) FROM outbox WHERE event_type = 'order.inventory_reserved' AND data->>'order_id' = $1",
            &[&order],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 1, "the order's event, once");
    let level = w.get(format!("/api/v1/inventory?warehouse_id={wh}")).by(&picker).expect(200).await;
    assert_eq!(
        (level["items"][0]["reserved"].as_i64(), level["items"][0]["available"].as_i64()),
        (Some(2), Some(3))
    );
    assert_eq!(mismatches(w).await, []);
}

/// Receipts and adjustments as warehouse staff, finance and other tenants meet them: every
/// problem at once, no level below what is held, a reorder point that makes a level low, the
/// ledger with every change, read-only roles refused; the forecast from a seeded history.
#[tokio::test]
async fn adjustments_keep_the_ledger_and_the_forecast_reads_the_history() {
    let w = World::new().await;
    let tenant = w.tenant().await;
    w.unlimited(&[tenant, w.platform]).await;
    let staff = w.person(w.platform, &["SUPER_ADMIN"]).await;
    let picker = w.person(w.platform, &["WAREHOUSE_STAFF"]).await;
    let finance = w.person(w.platform, &["FINANCE"]).await;
    let clinic = w.person(tenant, &["TENANT_ADMIN"]).await;
    let sku = format!("ADJ-{}", unique());
    w.product(&staff, &sku, "Counted", json!({})).await;
    let wh = warehouse(&w, &staff, &format!("A-{}", unique()), &["KY"]).await;
    receive(&w, &picker, &wh, &sku, 20).await;

    let bad = w
        .post(
            "/api/v1/inventory/adjust",
            json!({"warehouse_id": wh, "platform_sku": " ", "quantity": 0, "reason": "stolen"}),
        )
        .by(&picker)
        .expect(422)
        .await;
    let fields: Vec<&str> =
        bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["platform_sku", "quantity", "reason"], "every problem at once: {bad}");
    let ghost = json!({"warehouse_id": wh, "platform_sku": "NO-SUCH-PRODUCT", "quantity": 1});
    let refused = w.post("/api/v1/inventory/receive", ghost).by(&picker).expect(422).await;
    assert_eq!(refused["errors"][0]["code"], "unknown_product", "{refused}");
    let too_many = json!({"warehouse_id": wh, "platform_sku": sku, "quantity": -21, "reason": "lost"});
    let refused = w.post("/api/v1/inventory/adjust", too_many).by(&picker).expect(409).await;
    assert_eq!(refused["code"], "insufficient_stock", "{refused}");
    let counted = json!({"warehouse_id": wh, "platform_sku": sku, "quantity": -4, "reason": "cycle_count",
        "note": "shelf B2 recount", "reorder_point": 16});
    let after = w.post("/api/v1/inventory/adjust", counted.clone()).by(&picker).expect(200).await;
    assert_eq!(
        (
            after["level"]["on_hand"].as_i64(),
            after["level"]["reorder_point"].as_i64(),
            after["level"]["low"].as_bool()
        ),
        (Some(16), Some(16), Some(true)),
        "{after}"
    );
    let ledger = w
        .get(format!("/api/v1/inventory/movements?platform_sku={sku}&reason=cycle_count"))
        .by(&finance)
        .expect(200)
        .await;
    assert_eq!(
        (
            ledger["items"][0]["on_hand"].as_i64(),
            ledger["items"][0]["note"].as_str(),
            ledger["items"][0]["actor_id"].as_str()
        ),
        (Some(-4), Some("shelf B2 recount"), Some(picker.id.to_string().as_str())),
        "{ledger}"
    );
    let audit = w.get("/api/v1/audit-log?action=inventory.adjusted").by(&staff).expect(200).await;
    assert!(
        audit["items"].as_array().unwrap().iter().any(|e| e["after"]["note"] == "shelf B2 recount"),
        "{audit}"
    );
    // Finance reads and cannot adjust; a clinic neither sees nor touches platform stock.
    w.post("/api/v1/inventory/adjust", counted.clone()).by(&finance).expect(403).await;
    w.post("/api/v1/inventory/adjust", counted).by(&clinic).expect(404).await;
    let theirs =
        w.get(format!("/api/v1/inventory/movements?platform_sku={sku}")).by(&clinic).expect(200).await;
    assert_eq!(theirs["items"], json!([]));

    // Forecast: 30 days of 2 a day, then 6 a day for the last 5: smoothing leans to the recent days.
    let mut daily = vec![2; 30];
    daily.extend([6; 5]);
    gateway::inventory::record_history(
        &w.state,
        w.state.ops_db().await.unwrap(),
        wh.parse().unwrap(),
        &sku,
        &daily,
        0,
    )
    .await
    .unwrap();
    let f = w
        .get(format!("/api/v1/inventory/forecast?platform_sku={sku}&history_days=35&lead_time_days=7"))
        .by(&picker)
        .expect(200)
        .await;
    let f = &f[0];
    let demand = f["daily_demand"].as_f64().unwrap();
    assert!(demand > 4.0 && demand < 6.0, "smoothed towards the recent 6 a day: {f}");
    assert_eq!(f["history"].as_array().unwrap().len(), 35, "{f}");
    assert!(f["reorder_point"].as_i64().unwrap() > (demand * 7.0) as i64, "safety stock on top: {f}");
    assert!(f["suggested_reorder_quantity"].as_i64().unwrap() > 0, "{f}");
    assert_eq!(
        f["suggested_reorder_date"],
        json!(gateway::Clock::now(w.clock.as_ref()).date_naive()),
        "16 available is under the reorder point: {f}"
    );
    w.get("/api/v1/inventory/forecast?alpha=2&lead_time_days=0").by(&picker).expect(422).await;
    assert_eq!(mismatches(&w).await, []);
}

/// An order's units through their life: reserved → committed (a label bought) → shipped (on hand
/// goes down); a cancelled order's committed units come back; repeating any step changes nothing.
#[tokio::test]
async fn units_move_reserved_committed_shipped_and_a_cancel_gives_them_back() {
    let shop = Shop::open().await;
    let w = &shop.w;
    let staff = w.person(w.platform, &["SUPER_ADMIN"]).await;
    let picker = w.person(w.platform, &["WAREHOUSE_STAFF"]).await;
    let wh = warehouse(w, &staff, &format!("KY-{}", unique()), &["KY"]).await;
    receive(w, &picker, &wh, shop.platform_sku(), 10).await;
    let ops = w.state.ops_db().await.unwrap();
    let level = || async {
        let l = w.get(format!("/api/v1/inventory?warehouse_id={wh}")).by(&picker).expect(200).await;
        let l = &l["items"][0];
        ["on_hand", "reserved", "committed", "available"].map(|k| l[k].as_i64().unwrap())
    };
    let shop = &shop;
    let paid = |quantity| async move {
        let order = shop.order(quantity).await;
        crate::pipeline::step(w, &order).await;
        let id: Uuid = order.parse().unwrap();
        let done = gateway::inventory::reserve_order(&w.state, ops, shop.tenant, id).await.unwrap().unwrap();
        assert_eq!(done.status, gateway::orders::OrderStatus::InventoryReserved);
        id
    };
    let first = paid(3).await;
    assert_eq!(level().await, [10, 3, 0, 7]);
    assert_eq!(gateway::inventory::commit_order(&w.state, ops, shop.tenant, first).await.unwrap(), Some(1));
    assert_eq!(level().await, [10, 0, 3, 7]);
    assert_eq!(gateway::inventory::ship_order(&w.state, ops, shop.tenant, first).await.unwrap(), Some(1));
    assert_eq!(level().await, [7, 0, 0, 7]);
    assert_eq!(
        gateway::inventory::ship_order(&w.state, ops, shop.tenant, first).await.unwrap(),
        Some(0),
        "once"
    );
    // Not cancelled: release leaves it alone.
    assert_eq!(gateway::inventory::release_order(&w.state, ops, shop.tenant, first).await.unwrap(), None);

    let second = paid(2).await;
    gateway::inventory::commit_order(&w.state, ops, shop.tenant, second).await.unwrap();
    assert_eq!(level().await, [7, 0, 2, 5]);
    shop.cancel(&second.to_string()).await;
    assert_eq!(gateway::inventory::release_order(&w.state, ops, shop.tenant, second).await.unwrap(), Some(1));
    assert_eq!(level().await, [7, 0, 0, 7]);
    assert_eq!(
        gateway::inventory::release_order(&w.state, ops, shop.tenant, second).await.unwrap(),
        Some(0),
        "once"
    );
    let stock = w.get(format!("/api/v1/orders/{second}/reservations")).by(&shop.admin).expect(200).await;
    assert_eq!(stock["reservations"][0]["status"], "released", "{stock}");
    let moves = w.get(format!("/api/v1/inventory/movements?warehouse_id={wh}")).by(&picker).expect(200).await;
    let reasons: Vec<&str> =
        moves["items"].as_array().unwrap().iter().map(|m| m["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons,
        ["released", "committed", "reserved", "shipped", "committed", "reserved", "received"]
    );
    assert_eq!(mismatches(w).await, []);
}
