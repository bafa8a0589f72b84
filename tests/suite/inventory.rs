//! Stock: reservations that never oversell, from two OS processes at once, with bundles and with
//! orders touching two SKUs in opposite line order; the ledger always equals the levels.

use serde_json::json;

use crate::support::unique;
use crate::world::World;

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
    let ops = w.state.ops_db().await.unwrap();
    let mut warehouses = Vec::new();
    for (code, zones) in [("EAST", vec!["KY".to_owned()]), ("WEST", vec!["CA".to_owned(), "KY".to_owned()])] {
        let new = gateway::inventory::NewWarehouse {
            code: format!("{code}-{n}"),
            name: code.into(),
            kind: "internal".into(),
            address: json!({"state": "KY"}),
            priority: 100,
            zones,
        };
        warehouses.push(gateway::inventory::create_warehouse(&w.state, ops, w.platform, &new).await.unwrap());
    }
    // 6 + 4 units of each SKU.
    for sku in [&a, &b] {
        for (wh, q) in [(warehouses[0], 6), (warehouses[1], 4)] {
            gateway::inventory::receive(&w.state, ops, w.platform, ("system", None), wh, sku, q, "received")
                .await
                .unwrap();
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
    assert_eq!(gateway::inventory::ledger_mismatches(ops).await.unwrap(), [], "the ledger equals the levels");
}
