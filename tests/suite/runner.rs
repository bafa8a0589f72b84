//! End to end through the real `local-runner` binary: it provisions a private stack in the
//! emulator from template.yaml, migrates, loads demo data, writes demo.json, serves every route,
//! and fires a scheduled function on demand through its control endpoint.

use crate::support::{self, TestDb};

#[tokio::test]
async fn the_local_runner_serves_every_route_and_writes_demo_credentials() {
    let db = TestDb::create().await;
    let dir = std::env::temp_dir().join(format!("runner-{}", support::unique()));
    let demo = dir.join("demo.json");
    let (mut child, api) = support::spawn_runner(&db, &dir, true, None, &[]).await;

    let http = crate::support::http_client();
    let ready = http.get(format!("{api}/api/v1/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    let doc: serde_json::Value =
        http.get(format!("{api}/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/health/ready"]["get"].is_object());

    // Scheduled functions are off here; the control endpoint fires one now.
    let fired = http.post(format!("{api}/_local/functions/outbox-relay/invoke")).send().await.unwrap();
    assert_eq!(fired.status(), 200);
    assert_eq!(
        fired.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"published": 0, "failed": 0})
    );
    let unknown = http.post(format!("{api}/_local/functions/no-such-fn/invoke")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);

    let demo: serde_json::Value = serde_json::from_slice(&std::fs::read(&demo).unwrap()).unwrap();
    assert_eq!(demo["api"], api);
    let tenants = demo["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 4, "the platform tenant, two demo tenants and a vendor");
    // The demo people sign in with what demo.json says.
    let users = demo["users"].as_array().unwrap();
    assert_eq!(
        users.len(),
        8,
        "seven people, the consultant twice (a membership in each tenant); the consultant's second membership: {users:?}"
    );
    for u in users {
        let login = http
            .post(format!("{api}/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": u["email"], "password": u["password"], "tenant_id": u["tenant_id"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200, "{u}");
        let tokens: serde_json::Value = login.json().await.unwrap();
        assert_eq!(tokens["tenant_id"], u["tenant_id"]);
        assert_eq!(tokens["roles"], u["roles"]);
    }
    for t in tenants {
        assert!(t["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
        // Each customer tenant has a working demo API key.
        if t["kind"] != "platform" && t["kind"] != "vendor" {
            let key = t["api_key"].as_str().unwrap();
            let users =
                http.get(format!("{api}/api/v1/users")).header("x-api-key", key).send().await.unwrap();
            assert_eq!(users.status(), 200, "{t}");
        }
        assert!(t["slug"].is_string() && t["channels"].is_object() && t.get("api_key").is_some(), "{t}");
    }
    // The demo catalog maps the identifiers of the fixture payloads and prices them.
    let apex = users.iter().find(|u| u["email"] == "admin@apex-regen.example").unwrap();
    let login: serde_json::Value = http
        .post(format!("{api}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": apex["email"], "password": apex["password"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    let shopify: serde_json::Value =
        serde_json::from_slice(&std::fs::read(support::fixture("shopify-orders-create.json")).unwrap())
            .unwrap();
    let woo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(support::fixture("woocommerce-order.json")).unwrap()).unwrap();
    let mut items: Vec<serde_json::Value> = Vec::new();
    for l in shopify["line_items"].as_array().unwrap() {
        items.push(serde_json::json!({"channel": "shopify", "sku": l["sku"], "product_id": l["product_id"], "variant_id": l["variant_id"]}));
    }
    for l in woo["line_items"].as_array().unwrap() {
        items.push(
            serde_json::json!({"channel": "woocommerce", "sku": l["sku"], "product_id": l["product_id"]}),
        );
    }
    let resolved: serde_json::Value = http
        .post(format!("{api}/api/v1/mappings/skus/resolve"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "items": items }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let skus: Vec<&str> = resolved["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["platform_sku"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(skus, ["RT-EXO-10ML", "RT-EXO-10ML", "RT-SAMPLE-SACHET", "RT-APPL-TIPS"], "{resolved}");
    let quote: serde_json::Value = http
        .post(format!("{api}/api/v1/pricing/quote"))
        .bearer_auth(token)
        .json(&serde_json::json!({"channel": "shopify", "lines": [{"sku": "IPOD2008PINK", "quantity": 2}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(quote["total"], 39_800, "the fixture's 2 × 199.00: {quote}");
    // The fixtures, signed with the demo channels' secrets, become orders.
    let apex_tenant = tenants.iter().find(|t| t["slug"] == "apex-regen-clinic").unwrap();
    for (kind, file, topic_header, topic, sig_header, total, status) in [
        (
            "shopify",
            "shopify-orders-create.json",
            "x-shopify-topic",
            "orders/create",
            "x-shopify-hmac-sha256",
            40_300,
            "needs_review",
        ),
        (
            "woocommerce",
            "woocommerce-order.json",
            "x-wc-webhook-topic",
            "order.created",
            "x-wc-webhook-signature",
            2_935,
            "accepted",
        ),
    ] {
        let channel = &apex_tenant["channels"][kind];
        let body = std::fs::read(support::fixture(file)).unwrap();
        let sig = gateway::orders::sign(channel["secret"].as_str().unwrap().as_bytes(), &body);
        let r: serde_json::Value = http
            .post(channel["webhook_url"].as_str().unwrap())
            .header("content-type", "application/json")
            .header(topic_header, topic)
            .header(sig_header, sig)
            .header("x-shopify-event-id", format!("runner-{}", support::unique()))
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["status"], status, "{kind}: {r}");
        let order: serde_json::Value = http
            .get(format!("{api}/api/v1/orders/{}", r["order_id"].as_str().unwrap()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(order["total"], total, "{kind}: {order}");
    }
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// The product brief's quick-start request, byte for byte (its `YOUR_API_KEY` the demo tenant's key).
const QUICK_START: &str = r#"{
    "externalId": "ORDER-12345",
    "customer": {
      "email": "customer@example.com",
      "name": "John Doe"
    },
    "lineItems": [
      {
        "sku": "TENANT-SKU-001",
        "quantity": 2
      }
    ],
    "shippingAddress": {
      "street": "123 Main St",
      "city": "Austin",
      "state": "TX",
      "zip": "78701",
      "country": "US"
    }
  }"#;

#[tokio::test]
async fn the_briefs_quick_start_is_accepted_on_the_demo_stack_as_written() {
    let db = TestDb::create().await;
    let dir = std::env::temp_dir().join(format!("quick-start-{}", support::unique()));
    let (mut child, api) = support::spawn_runner(&db, &dir, true, None, &[]).await;
    let demo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo.json")).unwrap()).unwrap();
    let key = demo["tenants"].as_array().unwrap().iter().find(|t| t["slug"] == "apex-regen-clinic").unwrap()
        ["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = support::http_client();
    let post = |body: &'static str| {
        http.post(format!("{api}/api/v1/orders"))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let res = post(QUICK_START).await.unwrap();
    assert_eq!(res.status(), 201);
    let order: serde_json::Value = res.json().await.unwrap();
    assert_eq!(order["status"], "accepted", "{order}");
    assert_eq!(order["external_id"], "ORDER-12345");
    assert_eq!(order["currency"], "USD", "the tenant's currency");
    assert_eq!(order["payment_source"], "terms", "the tenant's default payment source");
    assert_eq!(order["lines"][0]["platform_sku"], "RT-EXO-10ML");
    assert_eq!(order["total"], 2 * 19_900, "priced by the demo's list");
    assert_eq!(order["shipping_address"]["line1"], "123 Main St");
    assert_eq!(order["shipping_address"]["postal_code"], "78701");
    // The OpenAPI document shows it as the operation's example.
    let doc: serde_json::Value =
        http.get(format!("{api}/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let example =
        &doc["paths"]["/api/v1/orders"]["post"]["requestBody"]["content"]["application/json"]["example"];
    assert_eq!(*example, serde_json::from_str::<serde_json::Value>(QUICK_START).unwrap());
    // Sent again as written: the same order, marked as already there.
    let again = post(QUICK_START).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["order-existed"], "true");
    assert_eq!(again.json::<serde_json::Value>().await.unwrap()["id"], order["id"]);
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
