//! Operations: the stuck-order sweep. Judged by the exceptions an operator sees through the API.

use serde_json::{Value, json};

use crate::charges::{Shop, invoke_in_two_processes, settings};
use crate::pipeline::order_of;
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
