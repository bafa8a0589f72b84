//! Order intake over HTTP against the real Postgres and moto: the fixtures through signed
//! Shopify and WooCommerce webhooks, the portal/API path, holds and revalidation, every refusal,
//! and exactly-once with an idempotency key.

use chrono::Duration;
use gateway::platform::clock::Clock;
use serde_json::{Value, json};

use crate::world::{Person, World};

/// A tenant like the demo's Apex: the fixtures' SKUs mapped and priced, KY and CA served.
struct Shop {
    w: World,
    admin: Person,
    tenant: gateway::platform::tenant::TenantId,
}

impl Shop {
    async fn new() -> Self {
        let w = World::new().await;
        let staff = w.person(w.platform, &["PLATFORM_ADMIN"]).await;
        let tenant = w.tenant().await;
        let admin = w.person(tenant, &["TENANT_ADMIN"]).await;
        w.unlimited(&[tenant]).await;
        w.setting(tenant, "orders.serviceable_states", json!(["KY", "CA"])).await;
        for (sku, gated) in [
            ("RT-EXO-10ML", false),
            ("RT-SAMPLE-SACHET", false),
            ("RT-APPL-TIPS", false),
            ("RT-PEP-BPC", true),
        ] {
            w.product(&staff, sku, sku, json!({"approval_gated": gated})).await;
        }
        let s = Self { w, admin, tenant };
        for (sku, tenant_sku) in [
            ("RT-EXO-10ML", "GLOW-10"),
            ("RT-SAMPLE-SACHET", "SACHET"),
            ("RT-APPL-TIPS", "TIPS"),
            ("RT-PEP-BPC", "BPC"),
        ] {
            s.w.post("/api/v1/catalog/items", json!({"platform_sku": sku, "tenant_sku": tenant_sku}))
                .by(&s.admin)
                .expect(201)
                .await;
        }
        for m in [
            json!({"kind": "sku", "identifier": "IPOD2008PINK", "channel": "shopify", "platform_sku": "RT-EXO-10ML"}),
            json!({"kind": "channel_product", "identifier": "93", "channel": "woocommerce", "platform_sku": "RT-SAMPLE-SACHET"}),
            json!({"kind": "sku", "identifier": "Bar3", "channel": "woocommerce", "platform_sku": "RT-APPL-TIPS"}),
        ] {
            s.w.post("/api/v1/mappings/skus", m).by(&s.admin).expect(201).await;
        }
        let list =
            s.w.post(
                "/api/v1/pricing/price-lists",
                json!({"name": "list", "currency": "USD", "valid_from": s.w.clock.now() - Duration::days(1)}),
            )
            .by(&s.admin)
            .expect(201)
            .await;
        let id = list["id"].as_str().unwrap().to_owned();
        for (sku, price) in [
            ("RT-EXO-10ML", 19_900),
            ("RT-SAMPLE-SACHET", 300),
            ("RT-APPL-TIPS", 1_200),
            ("RT-PEP-BPC", 8_900),
        ] {
            let path = format!("/api/v1/pricing/price-lists/{id}/prices/{sku}");
            s.w.put(path, json!({"breaks": [{"min_quantity": 1, "unit_price": price}]}))
                .by(&s.admin)
                .expect(200)
                .await;
        }
        s
    }

    async fn channel(&self, kind: &str) -> (String, String) {
        let made = self
            .w
            .post("/api/v1/channels", json!({"code": kind, "kind": kind, "name": kind}))
            .by(&self.admin)
            .expect(201)
            .await;
        (made["id"].as_str().unwrap().to_owned(), made["secret"].as_str().unwrap().to_owned())
    }

    async fn orders(&self) -> i64 {
        let admin = self.w.db.admin().await;
        admin
            .query_one("SELECT count(*) FROM orders WHERE tenant_id = $1", &[&self.tenant.as_uuid()])
            .await
            .unwrap()
            .get(0)
    }
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(crate::support::fixture(name)).unwrap()).unwrap()
}

async fn webhook(w: &World, path: &str, headers: &[(&str, String)], body: &str) -> crate::support::Reply {
    let mut req =
        http::Request::builder().method("POST").uri(path).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    crate::support::send(&w.router, req.body(axum::body::Body::from(body.to_owned())).unwrap()).await
}

fn sign(secret: &str, body: &str) -> String {
    gateway::orders::sign(secret.as_bytes(), body.as_bytes())
}

#[tokio::test]
async fn the_shopify_fixture_becomes_one_held_order_and_a_paid_one_is_accepted() {
    let s = Shop::new().await;
    let (channel, secret) = s.channel("shopify").await;
    let path = format!("/api/v1/webhooks/shopify/{channel}");
    let body = fixture("shopify-orders-create.json").to_string();
    let headers = |sig: String, event: &str| {
        vec![
            ("x-shopify-topic", "orders/create".to_owned()),
            ("x-shopify-hmac-sha256", sig),
            ("x-shopify-event-id", event.to_owned()),
        ]
    };
    // A bad signature: 401, nothing written.
    let forged = webhook(&s.w, &path, &headers(sign("not the secret", &body), "e-1"), &body).await;
    assert_eq!(forged.problem(401), "unauthenticated");
    assert_eq!(s.orders().await, 0);
    let first = webhook(&s.w, &path, &headers(sign(&secret, &body), "e-1"), &body).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (first.body["outcome"].as_str(), first.body["status"].as_str()),
        (Some("created"), Some("needs_review"))
    );
    let again = webhook(&s.w, &path, &headers(sign(&secret, &body), "e-1"), &body).await;
    assert_eq!(again.body["outcome"], "duplicate");
    // A second subscription's delivery of the same order (another event id) finds the same order.
    let other = webhook(&s.w, &path, &headers(sign(&secret, &body), "e-2"), &body).await;
    assert_eq!(other.body["order_id"], first.body["order_id"]);
    assert_eq!(s.orders().await, 1);
    let id = first.body["order_id"].as_str().unwrap();
    let order = s.w.call("GET", &format!("/api/v1/orders/{id}"), Some(&s.admin.token), None).await.body;
    assert_eq!((order["total"].as_i64(), order["currency"].as_str()), (Some(40_300), Some("USD")));
    assert_eq!(order["lines"][0]["platform_sku"], "RT-EXO-10ML");
    assert_eq!(order["exceptions"][0]["kind"], "payment_unsecured", "{order}");
    assert_eq!(order["external_id"], "820982911946154508", "ids above 2^53 kept exact");
    // The channel later reports it paid: orders/updated revalidates and accepts it.
    let mut paid = fixture("shopify-orders-create.json");
    paid["financial_status"] = json!("paid");
    paid["updated_at"] = json!("2019-06-05T09:00:00-04:00");
    let paid = paid.to_string();
    let mut h = headers(sign(&secret, &paid), "e-3");
    h[0].1 = "orders/updated".into();
    let updated = webhook(&s.w, &path, &h, &paid).await;
    assert_eq!(
        (updated.body["outcome"].as_str(), updated.body["status"].as_str()),
        (Some("updated"), Some("accepted")),
        "{}",
        updated.body
    );
    assert_eq!(s.w.outbox("order.accepted").await.len(), 1);
    // A fresh paid order is accepted at once.
    let mut fresh = fixture("shopify-orders-create.json");
    fresh["financial_status"] = json!("paid");
    fresh["id"] = json!(820982911946154509u64);
    let fresh = fresh.to_string();
    let r = webhook(&s.w, &path, &headers(sign(&secret, &fresh), "e-4"), &fresh).await;
    assert_eq!(r.body["status"], "accepted", "{}", r.body);
}

#[tokio::test]
async fn the_woocommerce_fixture_is_accepted_once_and_its_ping_answered() {
    let s = Shop::new().await;
    let (channel, secret) = s.channel("woocommerce").await;
    let path = format!("/api/v1/webhooks/woocommerce/{channel}");
    let ping = http::Request::builder()
        .method("POST")
        .uri(&path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("webhook_id=12"))
        .unwrap();
    let pinged = crate::support::send(&s.w.router, ping).await;
    assert_eq!((pinged.status.as_u16(), pinged.body["outcome"].as_str()), (200, Some("ping")));
    let body = fixture("woocommerce-order.json").to_string();
    let headers = vec![
        ("x-wc-webhook-topic", "order.created".to_owned()),
        ("x-wc-webhook-signature", sign(&secret, &body)),
        ("x-wc-webhook-source", "https://shop.example/".to_owned()),
        ("x-wc-webhook-delivery-id", "d1".to_owned()),
    ];
    let first = webhook(&s.w, &path, &headers, &body).await;
    assert_eq!(
        (first.body["outcome"].as_str(), first.body["status"].as_str()),
        (Some("created"), Some("accepted")),
        "{}",
        first.body
    );
    let mut redelivered = headers.clone();
    redelivered[3].1 = "d2".into();
    assert_eq!(webhook(&s.w, &path, &redelivered, &body).await.body["outcome"], "duplicate");
    let id = first.body["order_id"].as_str().unwrap();
    let order = s.w.call("GET", &format!("/api/v1/orders/{id}"), Some(&s.admin.token), None).await.body;
    assert_eq!(order["total"], 2_935);
    let skus: Vec<&str> =
        order["lines"].as_array().unwrap().iter().map(|l| l["platform_sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["RT-SAMPLE-SACHET", "RT-APPL-TIPS"]);
    assert_eq!(s.orders().await, 1);
    let tampered = body.replace("29.35", "0.01");
    let r = webhook(&s.w, &path, &headers, &tampered).await;
    assert_eq!(r.problem(401), "unauthenticated");
}

fn portal_order(lines: Value) -> Value {
    json!({"currency": "USD", "customer": {"email": "jon@doe.ca"},
           "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
           "lines": lines, "payment": {"source": "terms"}})
}

#[tokio::test]
async fn an_unknown_sku_holds_the_order_until_revalidation_finds_its_mapping() {
    let s = Shop::new().await;
    let r =
        s.w.post(
            "/api/v1/orders",
            portal_order(json!([{"sku": "GLOW-10", "quantity": 2}, {"sku": "NEW-SKU", "quantity": 1}])),
        )
        .by(&s.admin)
        .expect(201)
        .await;
    assert_eq!(r["status"], "needs_review");
    let id = r["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/orders/{id}/revalidate");
    let still = s.w.call("POST", &path, Some(&s.admin.token), None).await;
    assert_eq!(still.body["status"], "needs_review");
    s.w.post("/api/v1/mappings/skus", json!({"identifier": "NEW-SKU", "platform_sku": "RT-APPL-TIPS"}))
        .by(&s.admin)
        .expect(201)
        .await;
    let done = s.w.call("POST", &path, Some(&s.admin.token), None).await;
    assert_eq!(done.body["status"], "accepted", "{}", done.body);
    assert_eq!(done.body["total"], 2 * 19_900 + 1_200);
    let exceptions =
        s.w.call("GET", "/api/v1/admin/exceptions?status=resolved", Some(&s.admin.token), None).await;
    assert_eq!(exceptions.body["counts"]["unknown_sku"], 1, "{}", exceptions.body);
    let history: Vec<&str> =
        done.body["history"].as_array().unwrap().iter().map(|h| h["to_status"].as_str().unwrap()).collect();
    assert_eq!((history.first().copied(), history.last().copied()), (Some("needs_review"), Some("accepted")));
}

#[tokio::test]
async fn every_bad_input_gets_a_precise_answer_and_writes_nothing() {
    let s = Shop::new().await;
    let post = |body: Value| {
        let (w, t) = (&s.w, s.admin.token.clone());
        async move { w.call("POST", "/api/v1/orders", Some(&t), Some(body)).await }
    };
    let code_of = |r: &crate::support::Reply| {
        (
            r.body["errors"][0]["field"].as_str().unwrap_or("-").to_owned(),
            r.body["errors"][0]["code"].as_str().unwrap_or("-").to_owned(),
        )
    };
    let cases = [
        (portal_order(json!([{"sku": "GLOW-10", "quantity": 0}])), ("lines[0].quantity", "out_of_range")),
        (portal_order(json!([{"sku": "GLOW-10", "quantity": -3}])), ("lines[0].quantity", "out_of_range")),
        (
            {
                let mut o = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
                o["currency"] = json!("EUR");
                o
            },
            ("lines[0].sku", "currency_mismatch"),
        ),
        (
            {
                let mut o = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
                o["shipping_address"]["state"] = json!("NY");
                o
            },
            ("shipping_address.state", "unserviceable_destination"),
        ),
        (
            {
                let mut o = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
                o["shipping_address"]["city"] = json!(null);
                o
            },
            ("shipping_address.city", "required"),
        ),
        (portal_order(json!([{"sku": "BPC", "quantity": 1}])), ("lines[0].sku", "APPROVAL_REQUIRED")),
        (
            {
                let mut o = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
                o["payment"] = json!({"source": "token", "token": "4111 1111 1111 1111"});
                o
            },
            ("payment.token", "card_number_refused"),
        ),
        (
            {
                let mut o = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
                o["promotion_codes"] = json!(["NOPE"]);
                o
            },
            ("promotion_codes[0]", "unknown_code"),
        ),
        (
            portal_order(
                json!([{"sku": "GLOW-10", "quantity": 1, "unit_price": 100}, {"sku": "TIPS", "quantity": 1}]),
            ),
            ("lines", "mixed_pricing"),
        ),
        (
            portal_order(json!([{"product_id": 93.5, "sku": "", "quantity": 1}])),
            ("lines[0].product_id", "invalid"),
        ),
        (
            {
                let mut o = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
                o["total"] = json!(1);
                o
            },
            ("total", "not_allowed"),
        ),
    ];
    for (body, (field, code)) in cases {
        let r = post(body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(code_of(&r), (field.to_owned(), code.to_owned()), "{}", r.body);
    }
    // An expired promotion.
    s.w.post("/api/v1/promotions", json!({"code": "OLD", "discount_type": "percentage", "percent_bp": 1000, "ends_at": s.w.clock.now() - Duration::hours(1)})).by(&s.admin).expect(201).await;
    let mut o = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
    o["promotion_codes"] = json!(["OLD"]);
    assert_eq!(code_of(&post(o).await).1, "expired");
    // Malformed JSON, a wrong type, an oversized body.
    let raw =
        s.w.call_raw("POST", "/api/v1/orders", &s.admin.token, "application/json", "{\"currency\": ".into())
            .await;
    assert_eq!(raw.problem(400), "malformed_body");
    let wrong = post(json!({"currency": 5})).await;
    assert_eq!(wrong.problem(422), "validation_failed");
    let huge =
        s.w.call_raw(
            "POST",
            "/api/v1/orders",
            &s.admin.token,
            "application/json",
            format!("{{\"notes\": \"{}\"}}", "x".repeat(2 << 20)),
        )
        .await;
    assert_eq!(huge.problem(413), "payload_too_large");
    assert_eq!(s.orders().await, 0, "nothing was written");
    // With the approval registered, the gated product is orderable.
    s.w.post("/api/v1/approvals", json!({"customer_email": "Jon@Doe.ca", "platform_sku": "RT-PEP-BPC", "expires_at": s.w.clock.now() + Duration::days(30)})).by(&s.admin).expect(201).await;
    let ok = post(portal_order(json!([{"sku": "BPC", "quantity": 1}]))).await;
    assert_eq!((ok.status.as_u16(), ok.body["status"].as_str()), (201, Some("accepted")), "{}", ok.body);
}

#[tokio::test]
async fn an_idempotency_key_makes_one_order_even_from_twenty_requests_in_two_processes() {
    let s = Shop::new().await;
    let body = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
    let headers = [("idempotency-key", "order-42".to_owned())];
    let first =
        s.w.call_with("POST", "/api/v1/orders", Some(&s.admin.token), Some(body.clone()), &headers).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let replay =
        s.w.call_with("POST", "/api/v1/orders", Some(&s.admin.token), Some(body.clone()), &headers).await;
    assert_eq!((replay.status.as_u16(), replay.headers.get("idempotent-replayed").is_some()), (201, true));
    assert_eq!(replay.body["id"], first.body["id"]);
    let mut other = body.clone();
    other["notes"] = json!("changed");
    let reused = s.w.call_with("POST", "/api/v1/orders", Some(&s.admin.token), Some(other), &headers).await;
    assert_eq!(reused.body["errors"][0]["code"], "idempotency_key_reused");

    let twin = s.w.twin().await;
    let order =
        || s.w.post("/api/v1/orders", body.clone()).by(&s.admin).header("idempotency-key", "order-43");
    let results: Vec<(u16, Option<String>)> = twin
        .race((0..10).map(|_| order()), (0..10).map(|_| order()))
        .await
        .into_iter()
        .map(|r| (r.status.as_u16(), r.body["id"].as_str().map(str::to_owned)))
        .collect();
    twin.stop().await;
    let ids: std::collections::BTreeSet<String> = results.iter().filter_map(|(_, id)| id.clone()).collect();
    assert_eq!(ids.len(), 1, "one order: {results:?}");
    assert!(results.iter().all(|(st, _)| *st == 201 || *st == 409), "{results:?}");
    assert_eq!(s.orders().await, 2);
}

#[tokio::test]
async fn an_order_held_for_an_unknown_sku_is_accepted_without_a_manual_step_once_its_mapping_exists() {
    let s = Shop::new().await;
    let r =
        s.w.call(
            "POST",
            "/api/v1/orders",
            Some(&s.admin.token),
            Some(portal_order(json!([{"sku": "LATE-SKU", "quantity": 1}]))),
        )
        .await;
    assert_eq!(r.body["status"], "needs_review", "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The local runner (another OS process) drives the queues: bus → rule → queue → orders-on-mapping.
    let twin = s.w.twin().await;
    s.w.post("/api/v1/mappings/skus", json!({"identifier": "late-sku", "platform_sku": "RT-APPL-TIPS"}))
        .by(&s.admin)
        .expect(201)
        .await;
    // Accepted (the pipeline's later steps, in the same process, may have moved it on since).
    let mut accepted = None;
    for _ in 0..200 {
        let order = s.w.call("GET", &format!("/api/v1/orders/{id}"), Some(&s.admin.token), None).await;
        let history = order.body["history"].as_array().cloned().unwrap_or_default();
        if let Some(h) = history.iter().find(|h| h["to_status"] == "accepted") {
            assert_eq!(order.body["lines"][0]["platform_sku"], "RT-APPL-TIPS");
            accepted = Some(h.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    twin.stop().await;
    let accepted = accepted.expect("the held order was accepted");
    assert_eq!(accepted["actor_kind"], "system", "{accepted}");
    assert_eq!(s.w.outbox("order.accepted").await.len(), 1);
}

#[tokio::test]
async fn a_custom_channel_posts_its_own_payload_through_its_versioned_profile() {
    let s = Shop::new().await;
    let made =
        s.w.post("/api/v1/channels", json!({"code": "clinic-erp", "kind": "custom", "name": "Clinic ERP"}))
            .by(&s.admin)
            .expect(201)
            .await;
    let channel = made["id"].as_str().unwrap().to_owned();
    let dash =
        s.w.call(
            "POST",
            "/api/v1/channels",
            Some(&s.admin.token),
            Some(json!({"code": "-erp", "kind": "custom", "name": "x"})),
        )
        .await;
    assert_eq!(dash.body["errors"][0]["field"], "code", "refused before the database: {}", dash.body);
    let rules = json!({
        "fields": {
            "external_id": {"path": "$.ref"},
            "currency": {"path": "$.cur", "default": "USD", "transforms": ["trim", "upper"]},
            "customer.email": {"path": "$.buyer.email", "transforms": ["trim", "lower"]},
            "customer.name": {"path": "$.buyer.name", "transforms": ["trim"]},
            "shipping_address.line1": {"path": "$.ship.street"},
            "shipping_address.city": {"path": "$.ship.city"},
            "shipping_address.state": {"path": "$.ship.state", "transforms": ["state"]},
            "shipping_address.postal_code": {"path": "$.ship.zip"},
            "shipping_address.country": {"path": "$.ship.country", "transforms": ["country"]},
            "payment.source": {"constant": "terms"}
        },
        "lines": {"path": "$.items[*]", "fields": {
            "sku": {"path": "$.code"}, "quantity": {"path": "$.qty", "transforms": ["integer"]},
            "unit_price": {"path": "$.price", "transforms": ["minor_units"]}}},
        "required": ["external_id", "customer.email"]
    });
    let bad =
        s.w.call(
            "POST",
            &format!("/api/v1/channels/{channel}/profiles"),
            Some(&s.admin.token),
            Some(json!({"fields": {"nope": {"path": "$["}}, "lines": {"path": "$.items[*]", "fields": {}}})),
        )
        .await;
    assert_eq!(bad.problem(422), "validation_failed");
    let v1 =
        s.w.post(format!("/api/v1/channels/{channel}/profiles"), rules.clone())
            .by(&s.admin)
            .expect(201)
            .await;
    assert_eq!(v1["version"], 1);
    let payload = json!({"ref": "ERP-77", "buyer": {"email": " Jon@Doe.CA ", "name": "Jon Doe"}, "cur": "usd",
        "ship": {"street": "1 Main St", "city": "Louisville", "state": "Kentucky", "zip": "40202", "country": "United States"},
        "items": [{"code": "GLOW-10", "qty": "2", "price": "199.00"}]});
    let preview =
        s.w.post(format!("/api/v1/channels/{channel}/profiles/preview"), json!({"payload": payload}))
            .by(&s.admin)
            .expect(200)
            .await;
    assert_eq!(preview["order"]["shipping_address"]["state"], "KY");
    assert_eq!(preview["order"]["lines"][0]["unit_price"], 19_900);
    assert_eq!(preview["order"]["customer"]["email"], "jon@doe.ca");
    let mut broken = payload.clone();
    broken["items"][0]["price"] = json!("19.999");
    let failing =
        s.w.call(
            "POST",
            &format!("/api/v1/channels/{channel}/profiles/preview"),
            Some(&s.admin.token),
            Some(json!({"payload": broken})),
        )
        .await;
    assert_eq!(
        failing.body["errors"][0]["field"], "lines[0].unit_price.transforms[minor_units]",
        "{}",
        failing.body
    );
    let mut missing = payload.clone();
    missing.as_object_mut().unwrap().remove("ref");
    let failing =
        s.w.call(
            "POST",
            &format!("/api/v1/channels/{channel}/profiles/preview"),
            Some(&s.admin.token),
            Some(json!({"payload": missing})),
        )
        .await;
    assert_eq!(failing.body["errors"][0]["field"], "required.external_id");
    // The tenant's API key posts the channel's own payload.
    let key =
        s.w.post("/api/v1/api-keys", json!({"name": "erp", "permissions": ["orders:create", "orders:read"]}))
            .by(&s.admin)
            .expect(201)
            .await;
    let key = key["key"].as_str().unwrap().to_owned();
    let r =
        s.w.call_with(
            "POST",
            "/api/v1/orders",
            None,
            Some(payload.clone()),
            &[("x-api-key", key.clone()), ("x-channel", "clinic-erp".into())],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["status"].as_str(), r.body["source"].as_str()),
        (201, Some("accepted"), Some("custom")),
        "{}",
        r.body
    );
    assert_eq!(r.body["external_id"], "ERP-77");
    let again =
        s.w.call_with(
            "POST",
            "/api/v1/orders",
            None,
            Some(payload),
            &[("x-api-key", key), ("x-channel", "clinic-erp".into())],
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), again.body["id"].clone()),
        (200, r.body["id"].clone()),
        "one order per channel order id"
    );
}

#[tokio::test]
async fn a_person_clears_a_price_hold_and_refused_channel_orders_leave_an_exception() {
    let s = Shop::new().await;
    // A portal order with its own price, off the list: held; a person accepts the price.
    let r =
        s.w.call(
            "POST",
            "/api/v1/orders",
            Some(&s.admin.token),
            Some(portal_order(json!([{"sku": "GLOW-10", "quantity": 1, "unit_price": 100}]))),
        )
        .await;
    assert_eq!(r.body["status"], "needs_review", "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let order = s.w.call("GET", &format!("/api/v1/orders/{id}"), Some(&s.admin.token), None).await.body;
    assert_eq!(order["exceptions"][0]["kind"], "price_mismatch");
    let exception = order["exceptions"][0]["id"].as_str().unwrap().to_owned();
    s.w.post(format!("/api/v1/admin/exceptions/{exception}/resolve"), json!({"resolution": "agreed price"}))
        .by(&s.admin)
        .expect(200)
        .await;
    let done = s.w.call("POST", &format!("/api/v1/orders/{id}/revalidate"), Some(&s.admin.token), None).await;
    assert_eq!(done.body["status"], "accepted", "{}", done.body);
    // A channel order the gateway must refuse (a state it does not ship to) is kept as an exception.
    let (channel, secret) = s.channel("shopify").await;
    let mut o = fixture("shopify-orders-create.json");
    o["shipping_address"]["province_code"] = json!("NY");
    let body = o.to_string();
    let headers = vec![
        ("x-shopify-topic", "orders/create".to_owned()),
        ("x-shopify-hmac-sha256", sign(&secret, &body)),
        ("x-shopify-event-id", "ny".to_owned()),
    ];
    let refused = webhook(&s.w, &format!("/api/v1/webhooks/shopify/{channel}"), &headers, &body).await;
    assert_eq!(
        (refused.status.as_u16(), refused.body["outcome"].as_str()),
        (200, Some("refused")),
        "{}",
        refused.body
    );
    let list =
        s.w.call("GET", "/api/v1/admin/exceptions?kind=intake_rejected", Some(&s.admin.token), None).await;
    assert_eq!(list.body["counts"]["intake_rejected"], 1, "{}", list.body);
    assert_eq!(
        list.body["items"][0]["details"]["errors"][0]["code"], "unserviceable_destination",
        "{}",
        list.body
    );
    // WooCommerce: an update to cancelled cancels the order.
    let (woo, woo_secret) = s.channel("woocommerce").await;
    let path = format!("/api/v1/webhooks/woocommerce/{woo}");
    let created = fixture("woocommerce-order.json").to_string();
    let h = |topic: &str, body: &str| {
        vec![("x-wc-webhook-topic", topic.to_owned()), ("x-wc-webhook-signature", sign(&woo_secret, body))]
    };
    let first = webhook(&s.w, &path, &h("order.created", &created), &created).await;
    assert_eq!(first.body["status"], "accepted", "{}", first.body);
    let mut cancelled = fixture("woocommerce-order.json");
    cancelled["status"] = json!("cancelled");
    cancelled["date_modified_gmt"] = json!("2017-03-23T10:00:00");
    let cancelled = cancelled.to_string();
    let r = webhook(&s.w, &path, &h("order.updated", &cancelled), &cancelled).await;
    assert_eq!(
        (r.body["outcome"].as_str(), r.body["status"].as_str()),
        (Some("cancelled"), Some("cancelled")),
        "{}",
        r.body
    );
}

/// The fields of a 422's errors, with their codes, sorted.
fn problems(body: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {body}"))
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    found.sort();
    found
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        expected.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect();
    v.sort();
    v
}

#[tokio::test]
async fn every_shape_error_of_a_body_comes_in_one_answer_on_every_route() {
    let s = Shop::new().await;
    // Orders: an unknown field, a mistyped one, an unknown field and a missing one in a line, a
    // mistyped address field, a mistyped note — in the brief's spelling, so the paths are too.
    let body = json!({"externalID": "X-1", "lineItems": [{"sku": 7, "qty": 2}],
                      "shippingAddress": {"zip": 40202}, "notes": ["a"]});
    let r = s.w.post("/api/v1/orders", body).by(&s.admin).expect(422).await;
    assert_eq!(
        problems(&r),
        pairs(&[
            ("externalID", "unknown_field"),
            ("lineItems[0].sku", "invalid"),
            ("lineItems[0].qty", "unknown_field"),
            ("lineItems[0].quantity", "required"),
            ("shippingAddress.zip", "invalid"),
            ("notes", "invalid"),
        ])
    );
    assert_eq!(s.orders().await, 0, "nothing written");
    // A channel: five problems at once.
    let r =
        s.w.post(
            "/api/v1/channels",
            json!({"code": 5, "kind": ["shopify"], "nme": "x", "secret": true, "price_tolerance_bp": "5"}),
        )
        .by(&s.admin)
        .expect(422)
        .await;
    assert_eq!(
        problems(&r),
        pairs(&[
            ("code", "invalid"),
            ("kind", "invalid"),
            ("nme", "unknown_field"),
            ("name", "required"),
            ("secret", "invalid"),
            ("price_tolerance_bp", "invalid"),
        ])
    );
    // A price quote: five problems at once, inside the lines too.
    let r =
        s.w.post(
            "/api/v1/pricing/quote",
            json!({"lines": [{"sku": 1, "qty": 2}, {"quantity": "x"}], "currency": 9, "extra": 1}),
        )
        .by(&s.admin)
        .expect(422)
        .await;
    let found = problems(&r);
    for expected in pairs(&[
        ("lines[0].sku", "invalid"),
        ("lines[0].qty", "unknown_field"),
        ("lines[1].quantity", "invalid"),
        ("currency", "invalid"),
        ("extra", "unknown_field"),
    ]) {
        assert!(found.contains(&expected), "{expected:?} missing from {found:?}");
    }
}

#[tokio::test]
async fn an_external_id_again_is_the_same_order_with_the_same_body_and_a_conflict_with_another() {
    let s = Shop::new().await;
    let mut body = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
    body["external_id"] = json!("ERP-77");
    let made = s.w.post("/api/v1/orders", body.clone()).by(&s.admin).expect(201).await;
    // The same body, spelled the brief's way and in another key order, is the same order.
    let mut same = json!({"externalId": "ERP-77", "lineItems": [{"quantity": 1, "sku": "GLOW-10"}]});
    for k in ["currency", "customer", "shipping_address", "payment"] {
        same[k] = body[k].clone();
    }
    let again = s.w.post("/api/v1/orders", same).by(&s.admin).send().await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.headers["order-existed"], "true");
    assert_eq!(again.body["id"], made["id"]);
    // Another body under the same external id: 409 naming the order; nothing changes.
    body["lines"] = json!([{"sku": "GLOW-10", "quantity": 2}]);
    let r = s.w.post("/api/v1/orders", body).by(&s.admin).send().await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["code"], "external_id_conflict");
    assert!(r.body["detail"].as_str().unwrap().contains(made["id"].as_str().unwrap()), "{}", r.body);
    assert_eq!(s.orders().await, 1);
    let kept =
        s.w.get(format!("/api/v1/orders/{}", made["id"].as_str().unwrap())).by(&s.admin).expect(200).await;
    assert_eq!(kept["lines"][0]["quantity"], 1);
}

#[tokio::test]
async fn a_zip_code_outside_the_addresss_state_holds_the_order_for_review() {
    let s = Shop::new().await;
    let mut body = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
    body["shipping_address"]["postal_code"] = json!("78701"); // Austin, TX; the address says KY
    let held = s.w.post("/api/v1/orders", body.clone()).by(&s.admin).expect(201).await;
    assert_eq!(held["status"], "needs_review");
    let id = held["id"].as_str().unwrap();
    let detail = s.w.get(format!("/api/v1/orders/{id}")).by(&s.admin).expect(200).await;
    let kinds: Vec<&str> =
        detail["exceptions"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["address_mismatch"], "{detail}");
    assert_eq!(detail["exceptions"][0]["detail"], "ZIP 78701 belongs to TX, not KY");
    // The right ZIP for the state is accepted.
    body["shipping_address"]["postal_code"] = json!("40202");
    let ok = s.w.post("/api/v1/orders", body).by(&s.admin).expect(201).await;
    assert_eq!(ok["status"], "accepted");
}

/// A Shopify delivery of `order`, signed.
async fn shopify(
    s: &Shop,
    channel: &str,
    secret: &str,
    order: &Value,
    webhook_id: &str,
) -> crate::support::Reply {
    let body = order.to_string();
    let headers = vec![
        ("x-shopify-topic", "orders/create".to_owned()),
        ("x-shopify-hmac-sha256", sign(secret, &body)),
        ("x-shopify-webhook-id", webhook_id.to_owned()),
    ];
    webhook(&s.w, &format!("/api/v1/webhooks/shopify/{channel}"), &headers, &body).await
}

#[tokio::test]
async fn a_signed_delivery_is_always_acknowledged_and_a_refused_order_is_retried_once_its_cause_is_fixed() {
    let s = Shop::new().await;
    let (channel, secret) = s.channel("shopify").await;
    // An order to a state the tenant does not serve, and one with a line that has no SKU or product.
    let mut unserved = fixture("shopify-orders-create.json");
    unserved["shipping_address"]["province_code"] = json!("NY");
    unserved["shipping_address"]["zip"] = json!("10001");
    let mut no_sku = fixture("shopify-orders-create.json");
    no_sku["id"] = json!(820982911946154600u64);
    no_sku["line_items"][0]["sku"] = json!("");
    no_sku["line_items"][0]["product_id"] = json!(null);
    no_sku["line_items"][0]["variant_id"] = json!(null);
    for (order, hook) in [(&unserved, "w-1"), (&no_sku, "w-2")] {
        // The delivery, then three retries of it: each answered 200; one exception in all.
        for _ in 0..4 {
            let r = shopify(&s, &channel, &secret, order, hook).await;
            assert_eq!((r.status.as_u16(), r.body["outcome"].as_str()), (200, Some("refused")), "{}", r.body);
        }
    }
    let list = s.w.get("/api/v1/admin/exceptions?kind=intake_rejected").by(&s.admin).expect(200).await;
    assert_eq!(list["counts"]["intake_rejected"], 2, "{list}");
    assert_eq!(s.orders().await, 0);
    let refused = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["details"]["external_id"] == "820982911946154508")
        .unwrap();
    assert_eq!(refused["details"]["errors"][0]["code"], "unserviceable_destination");
    assert_eq!(
        refused["details"]["payload"]["shipping_address"]["province_code"], "NY",
        "the payload is kept"
    );
    // Retrying before the cause is fixed: still refused, still open.
    let id = refused["id"].as_str().unwrap();
    let again =
        s.w.post(format!("/api/v1/admin/exceptions/{id}/retry"), json!(null)).by(&s.admin).send().await;
    assert_eq!(again.problem(422), "validation_failed");
    // Serve the state, retry: the order is taken and the exception resolved.
    s.w.setting(s.tenant, "orders.serviceable_states", json!(["KY", "CA", "NY"])).await;
    let taken =
        s.w.post(format!("/api/v1/admin/exceptions/{id}/retry"), json!(null)).by(&s.admin).expect(201).await;
    assert_eq!(taken["external_id"], "820982911946154508");
    assert_eq!(taken["source"], "shopify");
    assert_eq!(s.orders().await, 1);
    let after = s.w.get(format!("/api/v1/admin/exceptions/{id}")).by(&s.admin).expect(200).await;
    assert_eq!(after["status"], "resolved", "{after}");
    let twice =
        s.w.post(format!("/api/v1/admin/exceptions/{id}/retry"), json!(null)).by(&s.admin).send().await;
    assert_eq!(twice.problem(409), "not_retryable");
    // A different order delivered under a webhook id seen before is its own order, not a duplicate.
    let mut other = fixture("shopify-orders-create.json");
    other["id"] = json!(820982911946154700u64);
    let r = shopify(&s, &channel, &secret, &other, "w-1").await;
    assert_eq!(r.body["outcome"], "created", "{}", r.body);
    assert_eq!(s.orders().await, 2);
}

/// Every row of every table of the test database, as text.
async fn everything_stored(w: &World) -> String {
    let db = w.db.admin().await;
    let tables: Vec<String> = db
        .query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut all = String::new();
    for t in tables {
        for r in db.query(&format!("SELECT t::text FROM \"{t}\" t"), &[]).await.unwrap() {
            all.push_str(&r.get::<_, String>(0));
            all.push('\n');
        }
    }
    all
}

/// Every item of every DynamoDB table (idempotency records with their cached answers, rate limits,
/// breakers) and every message waiting in every SQS queue and dead-letter queue, as text.
async fn everything_in_aws(w: &World) -> String {
    let mut all = String::new();
    let dynamo = w.state.dynamodb().await.unwrap();
    for table in dynamo.list_tables().send().await.unwrap().table_names() {
        let items = dynamo.scan().table_name(table).send().await.unwrap();
        all.push_str(&format!("{:?}\n", items.items()));
    }
    let sqs = w.state.sqs().await.unwrap();
    for queue in sqs.list_queues().send().await.unwrap().queue_urls() {
        let got = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            all.push_str(m.body().unwrap_or_default());
            all.push('\n');
        }
    }
    all
}

/// The string fields of an OpenAPI schema, followed through `$ref`s, objects and arrays: their
/// paths (`lines[0].name`).
fn text_fields(doc: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    };
    // Alternatives of type (not an object's `anyOf` of required fields, which names no type).
    let alternatives =
        schema["oneOf"].as_array().or(schema["anyOf"].as_array()).filter(|_| schema["properties"].is_null());
    if let Some(one) = alternatives {
        for s in one.iter().filter(|s| s["type"] != "null") {
            text_fields(doc, s, path, out);
        }
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.contains(&"string") {
        out.push(path.to_owned());
    } else if types.contains(&"array") {
        text_fields(doc, &schema["items"], &format!("{path}[0]"), out);
    } else if let Some(props) = schema["properties"].as_object() {
        // A field's alias is the same field: tried once, under its own name.
        for (k, v) in props
            .iter()
            .filter(|(_, v)| !v["description"].as_str().is_some_and(|d| d.starts_with("Alias of")))
        {
            let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            text_fields(doc, v, &p, out);
        }
    }
}

/// Puts `v` at the dotted path (`lines[0].name`) of `body`.
fn put(body: &mut Value, path: &str, v: Value) {
    let mut at = body;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, i)) => (k, Some(i.trim_end_matches(']').parse::<usize>().unwrap())),
            None => (part, None),
        };
        if !at[key].is_object() && !at[key].is_array() {
            at[key] = if index.is_some() { json!([{}]) } else { json!({}) };
        }
        at = &mut at[key];
        if let Some(i) = index {
            at = &mut at[i];
        }
    }
    *at = v;
}

/// Everything this test process logs (every target, at debug), kept to be searched: nextest runs each
/// test in a process of its own, so the global subscriber is this test's.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn start() -> Self {
        let captured = Self::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("this test's process has no other subscriber");
        captured
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The services' own logs (Postgres's server log, the AWS emulator's), which scripts/test names in
/// `GATEWAY_TEST_LOGS`, and every email the outbox requested, delivered by the real mailbox sender.
async fn everything_written(w: &World) -> String {
    let files =
        std::env::var("GATEWAY_TEST_LOGS").expect("GATEWAY_TEST_LOGS: run the suite with scripts/test");
    let mut all = String::new();
    for file in files.split(':') {
        all.push_str(&std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}")));
    }
    let dir = std::env::temp_dir().join(format!("mailbox-{}", crate::support::unique()));
    let mailbox = gateway::notifications::Mailbox {
        dir: dir.clone(),
        from: "gateway@example.com".into(),
        clock: w.clock.clone(),
    };
    for (i, data) in w.outbox("notification.email_requested").await.into_iter().enumerate() {
        let requested: gateway::notifications::EmailRequested = serde_json::from_value(data).unwrap();
        let email = gateway::notifications::render(&requested, &i.to_string()).unwrap();
        gateway::notifications::Sender::send(&mailbox, &email).await.unwrap();
    }
    for file in std::fs::read_dir(&dir).into_iter().flatten() {
        all.push_str(&std::fs::read_to_string(file.unwrap().path()).unwrap());
    }
    all
}

/// A card security code (CVV) never enters either: a field named for it (in any body) or one
/// written in any text field is refused, the value never echoed; in a channel's payload it is
/// masked and the order kept. Afterwards it is in no table, queue, mailbox or log.
#[tokio::test]
async fn a_card_security_code_is_stored_nowhere_whatever_field_it_is_sent_in() {
    let logs = Captured::start();
    let s = Shop::new().await;
    const CVV: &str = "7391";
    let doc = s.w.get("/api/v1/openapi.json").by(&s.admin).expect(200).await;
    let base = portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]));
    let refused = |r: &crate::support::Reply, field: &str| {
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        let codes: Vec<(&str, &str)> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
            .collect();
        assert!(codes.contains(&(field, "card_security_code_refused")), "{field}: {codes:?}");
        // (The request id is random: its hex digits may hold the four, by chance.)
        let mut answer = r.body.clone();
        answer.as_object_mut().map(|o| o.remove("request_id"));
        assert!(!answer.to_string().contains(CVV), "the value is never echoed: {}", r.body);
    };
    // Written in any text field of an order.
    let mut fields = Vec::new();
    text_fields(&doc, &doc["components"]["schemas"]["OrderInput"], "", &mut fields);
    let mut tried = 0;
    for field in fields
        .iter()
        .filter(|f| !gateway::platform::validate::is_identifier_field(f.rsplit('.').next().unwrap()))
    {
        let mut body = base.clone();
        put(&mut body, field, json!(format!("CVV: {CVV}")));
        refused(&s.w.post("/api/v1/orders", body).by(&s.admin).send().await, field);
        tried += 1;
    }
    assert!(tried >= 10, "{tried} fields tried");
    // A field of its own, in an order, a payment method, a charge.
    let mut order = base.clone();
    order["payment"] = json!({"source": "token", "token": "tok_1", "cvv": CVV});
    refused(&s.w.post("/api/v1/orders", order).by(&s.admin).send().await, "payment.cvv");
    let method = json!({"customer_email": "a@b.c", "tokens": {"nmi": "t"}, "last4": "1111", "exp_month": 12,
        "exp_year": 2030, "cardCode": CVV});
    refused(&s.w.post("/api/v1/payment-methods", method).by(&s.admin).send().await, "cardCode");
    let charge = json!({"order_id": uuid::Uuid::nil(), "payment_method_id": uuid::Uuid::nil(), "cvc": CVV});
    let r =
        s.w.post("/api/v1/payments/charge", charge)
            .by(&s.admin)
            .header("idempotency-key", "cvv-1")
            .send()
            .await;
    refused(&r, "cvc");
    // In a channel's payload it is masked, the order kept.
    let (channel, secret) = s.channel("shopify").await;
    let mut o = fixture("shopify-orders-create.json");
    o["financial_status"] = json!("paid");
    o["note"] = json!(format!("security code {CVV}"));
    let r = shopify(&s, &channel, &secret, &o, "cvv").await;
    assert_eq!(r.body["outcome"], "created", "{}", r.body);
    let kept =
        s.w.get(format!("/api/v1/orders/{}", r.body["order_id"].as_str().unwrap()))
            .by(&s.admin)
            .expect(200)
            .await;
    assert_eq!(kept["notes"], "security code ****");
    let mut all = everything_stored(&s.w).await;
    all.push_str(&everything_in_aws(&s.w).await);
    all.push_str(&everything_written(&s.w).await);
    all.push_str(&logs.text());
    let found: Vec<&str> =
        gateway::platform::validate::security_codes(&all).into_iter().map(|r| &all[r]).collect();
    assert!(found.is_empty(), "security codes stored or logged: {found:?}");
}

#[tokio::test]
async fn a_card_number_is_stored_nowhere_whatever_field_it_is_sent_in() {
    let logs = Captured::start();
    let s = Shop::new().await;
    const PAN: &str = "4111 1111 1111 1111";
    let doc = s.w.get("/api/v1/openapi.json").by(&s.admin).expect(200).await;
    let mut refused = 0;
    let staff = s.w.person(s.w.platform, &["FINANCE_ADMIN"]).await;
    let payment_config = [
        (
            "AccountFields",
            "/api/v1/admin/payments/merchant-accounts",
            json!({"gateway": "nmi", "name": "N", "credentials_secret": "payments/x"}),
        ),
        (
            "NewAccountSet",
            "/api/v1/admin/payments/account-sets",
            json!({"name": "S", "descriptor": "D", "primary_gateway": "nmi", "nmi_account_id": uuid::Uuid::nil()}),
        ),
    ];
    let bodies = [
        ("OrderInput", "/api/v1/orders", portal_order(json!([{"sku": "GLOW-10", "quantity": 1}]))),
        (
            "NewPaymentMethod",
            "/api/v1/payment-methods",
            json!({"customer_email": "a@b.c", "tokens": {"nmi": "t"}, "last4": "1111", "exp_month": 12, "exp_year": 2030}),
        ),
        ("NewChannel", "/api/v1/channels", json!({"code": "erp", "kind": "custom", "name": "ERP"})),
        (
            "NewApproval",
            "/api/v1/approvals",
            json!({"customer_email": "a@b.c", "platform_sku": "RT-PEP-BPC", "expires_at": "2030-01-01T00:00:00Z"}),
        ),
    ];
    let with_caller =
        bodies.into_iter().map(|b| (b, &s.admin)).chain(payment_config.into_iter().map(|b| (b, &staff)));
    for ((schema, route, base), caller) in with_caller {
        let mut fields = Vec::new();
        text_fields(&doc, &doc["components"]["schemas"][schema], "", &mut fields);
        assert!(fields.len() >= 3, "{schema}: {fields:?}");
        for field in fields
            .iter()
            .filter(|f| !gateway::platform::validate::is_identifier_field(f.rsplit('.').next().unwrap()))
        {
            let mut body = base.clone();
            put(&mut body, field, json!(format!("card {PAN} please")));
            let r = s.w.post(route, body).by(caller).send().await;
            assert_eq!(r.status, 422, "{route} {field}: {}", r.body);
            let codes: Vec<(&str, &str)> = r.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
                .collect();
            assert!(codes.contains(&(field.as_str(), "card_number_refused")), "{route} {field}: {codes:?}");
            assert!(!r.body.to_string().contains("1111 1111"), "the value is never echoed: {}", r.body);
            refused += 1;
        }
    }
    assert!(refused >= 20, "{refused} fields tried");
    // In a channel's payload it is masked, the order kept, an exception names the field.
    let (channel, secret) = s.channel("shopify").await;
    let mut order = fixture("shopify-orders-create.json");
    order["financial_status"] = json!("paid");
    order["note"] = json!(format!("my card is {PAN}"));
    order["shipping_address"]["address2"] = json!("4111-1111-1111-1111");
    let r = shopify(&s, &channel, &secret, &order, "card").await;
    assert_eq!(r.body["outcome"], "created", "{}", r.body);
    let id = r.body["order_id"].as_str().unwrap();
    let kept = s.w.get(format!("/api/v1/orders/{id}")).by(&s.admin).expect(200).await;
    assert_eq!(kept["notes"], "my card is ****1111");
    let masked =
        kept["exceptions"].as_array().unwrap().iter().find(|e| e["kind"] == "card_number_masked").unwrap();
    assert_eq!(masked["details"]["fields"], json!(["note", "shipping_address.address2"]));
    let (woo, woo_secret) = s.channel("woocommerce").await;
    let mut wo = fixture("woocommerce-order.json");
    wo["customer_note"] = json!(PAN);
    let body = wo.to_string();
    let h = vec![
        ("x-wc-webhook-topic", "order.created".to_owned()),
        ("x-wc-webhook-signature", sign(&woo_secret, &body)),
    ];
    let r = webhook(&s.w, &format!("/api/v1/webhooks/woocommerce/{woo}"), &h, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Nowhere in the database, DynamoDB, any queue, the mailbox or any log, in any spelling.
    let mut all = everything_stored(&s.w).await;
    all.push_str(&everything_in_aws(&s.w).await);
    all.push_str(&everything_written(&s.w).await);
    let ours = logs.text();
    assert!(
        ours.contains("request refused"),
        "the capture sees the gateway's own logs: {}",
        &ours[..ours.len().min(500)]
    );
    all.push_str(&ours);
    for spelling in ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111"] {
        assert!(!all.contains(spelling), "{spelling} is stored");
    }
    // An identifier that happens to pass Luhn is not a card number: a 19-digit SKU still resolves.
    let sku = "4000000000000000006";
    s.w.post(
        "/api/v1/mappings/skus",
        json!({"kind": "sku", "identifier": sku, "platform_sku": "RT-EXO-10ML"}),
    )
    .by(&s.admin)
    .expect(201)
    .await;
    let ok =
        s.w.post("/api/v1/orders", portal_order(json!([{"sku": sku, "quantity": 1}])))
            .by(&s.admin)
            .expect(201)
            .await;
    assert_eq!(ok["lines"][0]["platform_sku"], "RT-EXO-10ML", "{ok}");
}
