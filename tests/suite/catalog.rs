//! The catalog over HTTP against the real Postgres: vendor approval, tenant catalogs, the SKU
//! resolution engine (resolve, suggestions, bulk import and export), pricing and promotions.

use chrono::{Duration, Utc};
use gateway::platform::clock::Clock;
use serde_json::{Value, json};

use crate::world::{Person, World};

/// A world with platform staff and a few platform products.
struct Shop {
    w: World,
    staff: Person,
}

impl Shop {
    async fn new() -> Self {
        let w = World::new().await;
        let staff = w.person(w.platform, &["PLATFORM_ADMIN"]).await;
        let shop = Self { w, staff };
        for (sku, name) in [
            ("RT-EXO-5ML", "Exosome serum 5 ml"),
            ("RT-EXO-10ML", "Exosome serum 10 ml"),
            ("RT-PRP-KIT", "PRP preparation kit"),
            ("RT-HA-2ML", "Hyaluronic filler 2 ml"),
        ] {
            shop.product(&shop.staff, sku, name).await;
        }
        shop
    }

    /// A platform product as the catalog tests make it (120 g, 60 x 60 x 110 mm), by `by`.
    async fn product(&self, by: &Person, sku: &str, name: &str) -> Value {
        let size = json!({"weight_grams": 120, "dimensions_mm": {"length": 60, "width": 60, "height": 110}});
        self.w.product(by, sku, name, size).await
    }
}

#[tokio::test]
async fn unapproved_vendor_products_are_invisible_to_tenants_and_approval_is_audited() {
    let s = Shop::new().await;
    let w = &s.w;
    let vendor = w.tenant_of("vendor").await;
    let vendor_admin = w.person(vendor, &["VENDOR_ADMIN"]).await;
    let clinic = w.tenant().await;
    let clinic_admin = w.person(clinic, &["TENANT_ADMIN"]).await;

    let made = s.product(&vendor_admin, "VND-CRYO-1", "Cryo pack").await;
    assert_eq!(made["review_status"], "pending");
    assert_eq!(made["source"], "vendor");
    let id = made["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/catalog/products/{id}");

    // A clinic cannot see it, list it, sell it or map to it; nor can it own products.
    w.call("GET", &path, Some(&clinic_admin.token), None).await.problem(404);
    let listed =
        w.call("GET", "/api/v1/catalog/products?sku=VND-CRYO-1", Some(&clinic_admin.token), None).await;
    assert_eq!(listed.body["items"], json!([]));
    let all = w.call("GET", "/api/v1/catalog/products?limit=200", Some(&clinic_admin.token), None).await;
    assert!(!all.body.to_string().contains(&id));
    let sell = json!({"platform_sku": "VND-CRYO-1", "tenant_sku": "CLN-CRYO"});
    let refused =
        w.call("POST", "/api/v1/catalog/items", Some(&clinic_admin.token), Some(sell.clone())).await;
    assert_eq!(refused.problem(422), "validation_failed");
    assert_eq!(refused.body["errors"][0]["code"], "unknown_product");
    let map = json!({"identifier": "CRYO", "platform_sku": "VND-CRYO-1"});
    w.call("POST", "/api/v1/mappings/skus", Some(&clinic_admin.token), Some(map.clone())).await.problem(422);
    let own = json!({"sku": "CLN-OWN-1", "name": "Own", "weight_grams": 1,
                     "dimensions_mm": {"length": 1, "width": 1, "height": 1}});
    w.call("POST", "/api/v1/catalog/products", Some(&clinic_admin.token), Some(own)).await.problem(403);
    // Its vendor sees it; the vendor cannot approve it, not even past the route in the database.
    w.call("GET", &path, Some(&vendor_admin.token), None).await;
    let review = format!("{path}/review");
    w.call("POST", &review, Some(&vendor_admin.token), Some(json!({"decision": "approve"})))
        .await
        .problem(403);
    let app = w.db.app().await;
    app.execute("BEGIN", &[]).await.unwrap();
    app.execute("SELECT set_config('app.tenant_id', $1, true)", &[&vendor.to_string()]).await.unwrap();
    let forged = app
        .execute("UPDATE products SET review_status = 'approved' WHERE sku = 'VND-CRYO-1'", &[])
        .await
        .unwrap_err();
    let refusal = forged.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
    assert_eq!(refusal, "only the platform reviews products");
    app.execute("ROLLBACK", &[]).await.unwrap();

    // Rejection needs a reason; a vendor's edit resubmits; approval makes it sellable.
    let bare = w.call("POST", &review, Some(&s.staff.token), Some(json!({"decision": "reject"}))).await;
    assert_eq!(bare.body["errors"][0]["field"], "reason");
    let rejected =
        s.w.post(&review, json!({"decision": "reject", "reason": "missing IFU"}))
            .by(&s.staff)
            .expect(200)
            .await;
    assert_eq!(
        (rejected["review_status"].as_str(), rejected["review_reason"].as_str()),
        (Some("rejected"), Some("missing IFU"))
    );
    w.call("GET", &path, Some(&clinic_admin.token), None).await.problem(404);
    let edited = s.w.patch(&path, json!({"description": "IFU attached"})).by(&vendor_admin).expect(200).await;
    assert_eq!(edited["review_status"], "pending");
    let approved = s.w.post(&review, json!({"decision": "approve"})).by(&s.staff).expect(200).await;
    assert_eq!(approved["review_status"], "approved");
    let seen = w.call("GET", &path, Some(&clinic_admin.token), None).await;
    assert_eq!(seen.status, 200);
    assert!(seen.body.get("owner_tenant_id").is_none(), "a clinic is not told the vendor's tenant id");
    assert_eq!(
        w.call("POST", "/api/v1/catalog/items", Some(&clinic_admin.token), Some(sell)).await.status,
        201
    );
    // Only the platform moves the approval gate; renaming an approved product sends it back to review.
    let gate = w.call("PATCH", &path, Some(&vendor_admin.token), Some(json!({"approval_gated": true}))).await;
    assert_eq!(gate.problem(403), "forbidden");
    let renamed = s.w.patch(&path, json!({"name": "Cryo pack XL"})).by(&vendor_admin).expect(200).await;
    assert_eq!(renamed["review_status"], "pending");
    let resolve = json!({"items": [{"sku": "CLN-CRYO"}]});
    let r = s.w.post("/api/v1/mappings/skus/resolve", resolve.clone()).by(&clinic_admin).expect(200).await;
    assert_eq!(r["results"][0]["status"], "unavailable", "known, but not sellable until approved again");
    // What a tenant sells stays visible to it while the product is withdrawn.
    let items = w.call("GET", "/api/v1/catalog/items", Some(&clinic_admin.token), None).await;
    assert_eq!(items.body["items"][0]["tenant_sku"], "CLN-CRYO");
    s.w.post(&review, json!({"decision": "approve"})).by(&s.staff).expect(200).await;
    let r = s.w.post("/api/v1/mappings/skus/resolve", resolve).by(&clinic_admin).expect(200).await;
    assert_eq!(r["results"][0]["status"], "resolved");

    let actions = w.audit_actions(Some(w.platform)).await;
    for a in ["product.created", "product.rejected", "product.approved"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    let row =
        w.db.admin()
            .await
            .query_one(
                "SELECT before, after, actor_user_id FROM audit_log WHERE action = 'product.approved' ORDER BY id LIMIT 1",
                &[],
            )
            .await
            .unwrap();
    let (before, after): (Value, Value) = (row.get(0), row.get(1));
    assert_eq!(
        (before["review_status"].as_str(), after["review_status"].as_str()),
        (Some("pending"), Some("approved"))
    );
    assert_eq!(row.get::<_, uuid::Uuid>(2), s.staff.id);
}

#[tokio::test]
async fn categories_nest_without_cycles_and_belong_to_the_platform() {
    let s = Shop::new().await;
    let w = &s.w;
    let parent =
        s.w.post("/api/v1/catalog/categories", json!({"slug": "serums", "name": "Serums"}))
            .by(&s.staff)
            .expect(201)
            .await;
    let child =
        s.w.post(
            "/api/v1/catalog/categories",
            json!({"slug": "exosomes", "name": "Exosomes", "parent_id": parent["id"]}),
        )
        .by(&s.staff)
        .expect(201)
        .await;
    assert_eq!(child["parent_id"], parent["id"]);
    let cycle = w
        .call(
            "PATCH",
            &format!("/api/v1/catalog/categories/{}", parent["id"].as_str().unwrap()),
            Some(&s.staff.token),
            Some(json!({"parent_id": child["id"]})),
        )
        .await;
    assert_eq!(cycle.body["errors"][0]["code"], "cycle", "{}", cycle.body);
    let orphan = w
        .call(
            "POST",
            "/api/v1/catalog/categories",
            Some(&s.staff.token),
            Some(json!({"slug": "x", "name": "X", "parent_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(orphan.body["errors"][0]["code"], "unknown");
    let taken = w
        .call(
            "POST",
            "/api/v1/catalog/categories",
            Some(&s.staff.token),
            Some(json!({"slug": "serums", "name": "Again"})),
        )
        .await;
    assert_eq!(taken.problem(409), "slug_taken");
    let clinic = w.tenant().await;
    let admin = w.person(clinic, &["TENANT_ADMIN"]).await;
    let listed = w.call("GET", "/api/v1/catalog/categories?q=exo", Some(&admin.token), None).await;
    assert_eq!(listed.body["items"][0]["slug"], "exosomes");
    let refused = w
        .call(
            "POST",
            "/api/v1/catalog/categories",
            Some(&admin.token),
            Some(json!({"slug": "mine", "name": "Mine"})),
        )
        .await;
    assert_eq!(refused.problem(403), "forbidden");
    // Text the database cannot store is the request's fault, not a 500.
    let nul = w.call("GET", "/api/v1/catalog/products?q=%00", Some(&admin.token), None).await;
    assert_eq!(nul.problem(422), "validation_failed");
    assert_eq!(nul.body["errors"][0]["code"], "invalid_character");
}

#[tokio::test]
async fn skus_resolve_by_tenant_sku_channel_product_id_and_alias_and_unknown_ones_get_suggestions() {
    let s = Shop::new().await;
    let w = &s.w;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let admin = w.person(a, &["CATALOG_MANAGER"]).await;
    let other = w.person(b, &["TENANT_ADMIN"]).await;
    s.w.post(
        "/api/v1/catalog/items",
        json!({"platform_sku": "RT-EXO-5ML", "tenant_sku": "APX-GLOW-5", "name": "Apex Glow 5"}),
    )
    .by(&admin)
    .expect(201)
    .await;
    for m in [
        json!({"kind": "sku", "identifier": "IPOD2008PINK", "channel": "shopify", "platform_sku": "RT-PRP-KIT"}),
        json!({"kind": "channel_product", "identifier": 93, "channel": "woocommerce", "platform_sku": "RT-HA-2ML"}),
        json!({"kind": "alias", "identifier": "GLOW5", "platform_sku": "RT-EXO-5ML"}),
        json!({"kind": "sku", "identifier": "Bar3", "platform_sku": "RT-EXO-10ML"}),
    ] {
        s.w.post("/api/v1/mappings/skus", m).by(&admin).expect(201).await;
    }
    let dup = w
        .call(
            "POST",
            "/api/v1/mappings/skus",
            Some(&admin.token),
            Some(json!({"kind": "alias", "identifier": "bar3", "platform_sku": "RT-HA-2ML"})),
        )
        .await;
    assert_eq!(dup.problem(409), "mapping_exists", "SKUs and aliases share one namespace, any case");
    assert_eq!(w.outbox("sku_mapping.created").await.len(), 5, "four mappings and the catalog item's SKU");

    let items = json!({"items": [
        {"sku": "APX-GLOW-5"},
        {"sku": "IPOD2008PINK", "channel": "shopify"},
        {"sku": "", "channel": "woocommerce", "product_id": 93},
        {"sku": "glow5"},
        {"sku": "NOPE-1"},
        {"sku": "IPOD2008PINK", "channel": "woocommerce"},
        {"sku": "Bar3", "channel": "woocommerce", "product_id": 22},
        {"sku": "RT-EXO-5ML"},
        {"sku": "RT-PRP-KIT"},
        {"sku": "IPOD2008PINK", "channel": "Shopify"},
        {"sku": "GLOW\u{0}"}
    ]});
    let r = s.w.post("/api/v1/mappings/skus/resolve", items.clone()).by(&admin).expect(200).await;
    let got: Vec<(String, String, String)> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let f = |k: &str| x[k].as_str().unwrap_or("-").to_owned();
            (f("status"), f("platform_sku"), f("matched_by"))
        })
        .collect();
    let want = [
        ("resolved", "RT-EXO-5ML", "tenant_sku"),
        ("resolved", "RT-PRP-KIT", "sku"),
        ("resolved", "RT-HA-2ML", "channel_product"),
        ("resolved", "RT-EXO-5ML", "alias"),
        ("unknown", "-", "-"),
        ("unknown", "-", "-"),
        ("resolved", "RT-EXO-10ML", "sku"),
        ("resolved", "RT-EXO-5ML", "platform_sku"),
        // A platform SKU resolves only for products the tenant's catalog sells.
        ("unknown", "-", "-"),
        // Channel names, like identifiers, match without regard to case.
        ("resolved", "RT-PRP-KIT", "sku"),
        // What no mapping can hold is simply unknown, not an error for the batch.
        ("unknown", "-", "-"),
    ];
    let want: Vec<(String, String, String)> =
        want.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(got, want);
    assert_eq!((r["resolved"].as_u64(), r["unknown"].as_u64()), (Some(7), Some(4)));
    assert_eq!(r["results"][0]["tenant_name"], "Apex Glow 5");
    // Tenant B shares none of it.
    let theirs = s.w.post("/api/v1/mappings/skus/resolve", items).by(&other).expect(200).await;
    assert_eq!(theirs["resolved"], 0);

    // Suggestions: a typo of a platform SKU, and of an identifier the tenant already maps.
    let sugg = |sku: &str| {
        let (w, t, sku) = (w, admin.token.clone(), sku.to_owned());
        async move {
            w.call("GET", &format!("/api/v1/mappings/skus/suggestions?sku={sku}"), Some(&t), None).await.body
        }
    };
    let typo = sugg("RT-EXO-5M").await;
    assert_eq!(typo[0]["platform_sku"], "RT-EXO-5ML", "{typo}");
    let scores: Vec<f64> = typo.as_array().unwrap().iter().map(|x| x["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|p| p[0] >= p[1]), "best first: {scores:?}");
    let pink = sugg("IPOD2008PNK").await;
    assert_eq!(
        (pink[0]["platform_sku"].as_str(), pink[0]["matched_on"].as_str()),
        (Some("RT-PRP-KIT"), Some("mapping")),
        "{pink}"
    );
    let serum = sugg("exosome%20serum%2010").await;
    assert_eq!(serum[0]["platform_sku"], "RT-EXO-10ML", "{serum}");
    let bad =
        w.call("GET", "/api/v1/mappings/skus/suggestions?sku=x&limit=99", Some(&admin.token), None).await;
    assert_eq!(bad.problem(422), "validation_failed");

    // Re-pointing and deleting a mapping change what resolves.
    let list = w.call("GET", "/api/v1/mappings/skus?q=glow", Some(&admin.token), None).await;
    let alias = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    let moved =
        s.w.patch(format!("/api/v1/mappings/skus/{alias}"), json!({"platform_sku": "RT-HA-2ML"}))
            .by(&admin)
            .expect(200)
            .await;
    assert_eq!(moved["platform_sku"], "RT-HA-2ML");
    assert_eq!(w.outbox("sku_mapping.updated").await.len(), 1);
    let gone = w.call("DELETE", &format!("/api/v1/mappings/skus/{alias}"), Some(&admin.token), None).await;
    assert_eq!(gone.status, 204);
    let after =
        s.w.post("/api/v1/mappings/skus/resolve", json!({"items": [{"sku": "GLOW5"}]}))
            .by(&admin)
            .expect(200)
            .await;
    assert_eq!(after["results"][0]["status"], "unknown");
}

#[tokio::test]
async fn a_bulk_import_of_ten_thousand_rows_is_all_or_nothing_and_partial_mode_applies_the_valid_rows() {
    let s = Shop::new().await;
    let w = &s.w;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let targets = ["RT-EXO-5ML", "RT-EXO-10ML", "RT-PRP-KIT", "RT-HA-2ML"];
    let mut csv = String::from("identifier,platform_sku,kind,channel,note\n");
    for i in 1..=10_000 {
        let target = if i == 7_777 { "NO-SUCH-SKU" } else { targets[i % 4] };
        csv.push_str(&format!("T-{i:05},{target},sku,,row {i}\n"));
    }
    let count = || async {
        let row = w.db.admin().await.query_one("SELECT count(*) FROM sku_mappings", &[]).await.unwrap();
        row.get::<_, i64>(0)
    };
    let path = "/api/v1/mappings/skus/bulk";
    let refused = w.call_raw("POST", path, &admin.token, "text/csv", csv.clone()).await;
    assert_eq!(refused.problem(422), "validation_failed");
    let errors = refused.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["field"], "rows[7777].platform_sku");
    assert_eq!(errors[0]["code"], "unknown_product");
    assert!(errors[0]["message"].as_str().unwrap().contains("line 7778"), "{}", errors[0]);
    assert_eq!(count().await, 0, "nothing applied");

    let partial =
        w.call_raw("POST", &format!("{path}?mode=partial"), &admin.token, "text/csv", csv.clone()).await;
    assert_eq!(partial.status, 200, "{}", partial.body);
    assert_eq!(
        (
            partial.body["created"].as_u64(),
            partial.body["failed"].as_u64(),
            partial.body["errors"][0]["row"].as_u64()
        ),
        (Some(9_999), Some(1), Some(7_777))
    );
    assert_eq!(count().await, 9_999);
    assert_eq!(w.outbox("sku_mapping.created").await.len(), 100, "one event per hundred mappings");

    // The export reads back as an import that changes nothing.
    let export = w.call("GET", "/api/v1/mappings/skus/export", Some(&admin.token), None).await;
    assert_eq!(export.status, 200);
    assert!(export.content_type().starts_with("text/csv"));
    let text = export.body.as_str().unwrap().to_owned();
    assert_eq!(text.lines().count(), 10_000, "header and 9999 rows");
    assert!(text.starts_with("kind,identifier,channel,variant_id,platform_sku,note\n"));
    let again = w.call_raw("POST", path, &admin.token, "text/csv", text).await;
    assert_eq!(
        (again.body["unchanged"].as_u64(), again.body["created"].as_u64()),
        (Some(9_999), Some(0)),
        "{}",
        again.body
    );

    // JSON rows: each bad row named, a repeat caught, nothing applied; then a re-point.
    let rows = json!({"mappings": [
        {"identifier": "T-00001", "platform_sku": "RT-HA-2ML"},
        {"kind": "nonsense", "identifier": "X", "platform_sku": "RT-HA-2ML"},
        {"kind": "channel_product", "identifier": 820982911946154508u64, "platform_sku": "RT-HA-2ML"},
        {"identifier": "t-00001", "platform_sku": "RT-EXO-5ML"}
    ]});
    let r = w.call("POST", path, Some(&admin.token), Some(rows)).await;
    assert_eq!(r.problem(422), "validation_failed");
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["rows[2].kind", "rows[3].channel", "rows[4].identifier"]);
    let repoint = json!({"mappings": [{"identifier": "T-00001", "platform_sku": "RT-HA-2ML"},
                                      {"kind": "channel_product", "channel": "shopify", "identifier": 820982911946154508u64, "variant_id": 866550311766439020u64, "platform_sku": "RT-HA-2ML"}]});
    let ok = s.w.post(path, repoint).by(&admin).expect(200).await;
    assert_eq!((ok["updated"].as_u64(), ok["created"].as_u64()), (Some(1), Some(1)));
    let big = json!({"items": [{"channel": "shopify", "product_id": 820982911946154508u64, "variant_id": 866550311766439020u64}]});
    let r = s.w.post("/api/v1/mappings/skus/resolve", big).by(&admin).expect(200).await;
    assert_eq!(r["results"][0]["platform_sku"], "RT-HA-2ML", "ids above 2^53 kept exact");
    let wrong_type = w.call_raw("POST", path, &admin.token, "text/plain", "x".into()).await;
    assert_eq!(wrong_type.problem(415), "unsupported_media_type");
}

#[tokio::test]
async fn pricing_honours_tier_and_break_boundaries_and_windows_and_refuses_a_currency_mismatch() {
    let s = Shop::new().await;
    let w = &s.w;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    s.w.post("/api/v1/catalog/items", json!({"platform_sku": "RT-EXO-5ML", "tenant_sku": "GLOW"}))
        .by(&admin)
        .expect(201)
        .await;
    let now = w.clock.now();
    let t_end = now + Duration::days(30);
    let list = |body: Value| s.w.post("/api/v1/pricing/price-lists", body).by(&admin).expect(201);
    let standard = list(json!({"name": "standard", "currency": "USD", "mode": "volume",
                               "valid_from": now - Duration::days(1), "valid_until": t_end}))
    .await;
    let wholesale = list(
        json!({"name": "wholesale", "currency": "USD", "mode": "graduated", "customer_tier": "wholesale",
                                "valid_from": now - Duration::days(1)}),
    )
    .await;
    let breaks = json!({"breaks": [{"min_quantity": 1, "unit_price": 1000}, {"min_quantity": 10, "unit_price": 900},
                                   {"min_quantity": 50, "unit_price": 800}]});
    for l in [&standard, &wholesale] {
        s.w.put(
            format!("/api/v1/pricing/price-lists/{}/prices/RT-EXO-5ML", l["id"].as_str().unwrap()),
            breaks.clone(),
        )
        .by(&admin)
        .expect(200)
        .await;
    }
    let quote = |qty: i64, extra: Value| {
        let mut body = json!({"lines": [{"sku": "GLOW", "quantity": qty}]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (w, t) = (w, admin.token.clone());
        async move { w.call("POST", "/api/v1/pricing/quote", Some(&t), Some(body)).await }
    };
    // Volume breaks: 9 at 10.00, 10 at 9.00 each, 49 at 9.00, 50 at 8.00.
    for (qty, total) in [(9, 9_000), (10, 9_000), (49, 44_100), (50, 40_000)] {
        let q = quote(qty, json!({})).await;
        assert_eq!(q.body["total"], total, "{qty}: {}", q.body);
        assert_eq!(q.body["lines"][0]["price"]["price_list_name"], "standard");
    }
    // The wholesale tier's own (graduated) list: 9 × 10.00 + 1 × 9.00 at ten.
    let tiered = quote(10, json!({"customer_tier": "wholesale"})).await;
    assert_eq!(tiered.body["total"], 9_900, "{}", tiered.body);
    let bands: Vec<(i64, i64)> = tiered.body["lines"][0]["price"]["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["min_quantity"].as_i64().unwrap(), b["quantity"].as_i64().unwrap()))
        .collect();
    assert_eq!(bands, [(1, 9), (10, 1)]);
    assert_eq!(quote(50, json!({"customer_tier": "wholesale"})).await.body["total"], 9_000 + 36_000 + 800);
    // A higher priority list wins while it is valid; the window is [from, until).
    let promo = list(
        json!({"name": "spring", "currency": "USD", "priority": 5, "valid_from": now + Duration::days(1),
                            "valid_until": now + Duration::days(2)}),
    )
    .await;
    s.w.put(
        format!("/api/v1/pricing/price-lists/{}/prices/RT-EXO-5ML", promo["id"].as_str().unwrap()),
        json!({"breaks": [{"min_quantity": 1, "unit_price": 500}]}),
    )
    .by(&admin)
    .expect(200)
    .await;
    let at = |t: chrono::DateTime<Utc>| json!({"at": t});
    assert_eq!(quote(1, at(now + Duration::days(1) - Duration::seconds(1))).await.body["total"], 1_000);
    assert_eq!(quote(1, at(now + Duration::days(1))).await.body["total"], 500);
    assert_eq!(quote(1, at(now + Duration::days(2))).await.body["total"], 1_000);
    let after = quote(1, at(t_end)).await;
    assert_eq!(after.problem(422), "validation_failed");
    assert_eq!(
        after.body["errors"][0]["code"], "no_price",
        "standard ended; the tier list is not for this customer"
    );
    // Currency: asked in EUR, priced only in USD.
    let eur = quote(1, json!({"currency": "EUR"})).await;
    assert_eq!(eur.problem(422), "validation_failed");
    assert_eq!(eur.body["errors"][0]["code"], "currency_mismatch");
    assert!(eur.body["errors"][0]["message"].as_str().unwrap().contains("priced in USD, not EUR"));
    // Breaks must start at 1 and be distinct; quantities positive.
    let id = standard["id"].as_str().unwrap();
    let bad = w
        .call("PUT", &format!("/api/v1/pricing/price-lists/{id}/prices/RT-EXO-5ML"), Some(&admin.token),
              Some(json!({"breaks": [{"min_quantity": 5, "unit_price": 100}, {"min_quantity": 5, "unit_price": 90}]})))
        .await;
    let codes: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["duplicate", "no_base_price"]);
    let huge = w
        .call(
            "PUT",
            &format!("/api/v1/pricing/price-lists/{id}/prices/RT-EXO-5ML"),
            Some(&admin.token),
            Some(json!({"breaks": [{"min_quantity": 1, "unit_price": 10_000_000_001i64}]})),
        )
        .await;
    assert_eq!(huge.body["errors"][0]["code"], "out_of_range", "amounts stay far from 64-bit overflow");
    assert_eq!(quote(0, json!({})).await.body["errors"][0]["field"], "lines[0].quantity");
    let unknown = w
        .call(
            "POST",
            "/api/v1/pricing/quote",
            Some(&admin.token),
            Some(json!({"lines": [{"sku": "NOPE", "quantity": 1}]})),
        )
        .await;
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_sku");
}

#[tokio::test]
async fn each_promotion_rule_refuses_with_its_own_reason() {
    let s = Shop::new().await;
    let w = &s.w;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    s.w.post("/api/v1/catalog/items", json!({"platform_sku": "RT-EXO-5ML", "tenant_sku": "GLOW"}))
        .by(&admin)
        .expect(201)
        .await;
    s.w.post("/api/v1/catalog/items", json!({"platform_sku": "RT-PRP-KIT", "tenant_sku": "KIT"}))
        .by(&admin)
        .expect(201)
        .await;
    let now = w.clock.now();
    let promos = [
        json!({"code": "TEN", "discount_type": "percentage", "percent_bp": 1000}),
        json!({"code": "FIVEOFF", "discount_type": "fixed", "amount": 500, "currency": "USD", "stackable": true}),
        json!({"code": "STACK2", "discount_type": "percentage", "percent_bp": 200, "stackable": true}),
        json!({"code": "OLD", "discount_type": "percentage", "percent_bp": 1000, "ends_at": now - Duration::hours(1)}),
        json!({"code": "SOON", "discount_type": "percentage", "percent_bp": 1000, "starts_at": now + Duration::hours(1)}),
        json!({"code": "ONCE", "discount_type": "percentage", "percent_bp": 1000, "usage_limit": 1}),
        json!({"code": "PERCUST", "discount_type": "percentage", "percent_bp": 1000, "per_customer_limit": 1}),
        json!({"code": "BIG", "discount_type": "fixed", "amount": 100, "currency": "USD", "min_order": 50000}),
        json!({"code": "EURO", "discount_type": "fixed", "amount": 100, "currency": "EUR"}),
        json!({"code": "KITONLY", "discount_type": "percentage", "percent_bp": 5000, "applies_to": "line", "platform_skus": ["RT-PRP-KIT"]}),
        json!({"code": "OFF", "discount_type": "percentage", "percent_bp": 1000, "active": false}),
    ];
    for p in promos {
        s.w.post("/api/v1/promotions", p).by(&admin).expect(201).await;
    }
    let cart = |codes: &[&str], email: Option<&str>| {
        json!({"codes": codes, "currency": "USD", "customer_email": email,
               "lines": [{"sku": "GLOW", "quantity": 2, "unit_price": 10000}]})
    };
    // Use up ONCE and PERCUST (for one customer) on real orders first.
    for (order, code) in [("o-1", "ONCE"), ("o-2", "PERCUST")] {
        let body = json!({"order_ref": order, "cart": cart(&[code], Some("Jon@Doe.ca"))});
        w.post("/api/v1/promotions/redemptions", body).by(&admin).expect(201).await;
    }
    let check = |codes: Vec<&'static str>, email: Option<&'static str>| {
        let (w, t) = (w, admin.token.clone());
        async move { w.post("/api/v1/promotions/validate", cart(&codes, email)).token(&t).expect(200).await }
    };
    let reason = |v: &Value, i: usize| v["promotions"][i]["reason"].as_str().unwrap_or("applies").to_owned();
    for (code, want) in [
        ("OLD", "expired"),
        ("SOON", "not_started"),
        ("ONCE", "usage_limit_reached"),
        ("BIG", "minimum_not_met"),
        ("EURO", "currency_mismatch"),
        ("KITONLY", "no_eligible_lines"),
        ("OFF", "inactive"),
        ("NOSUCH", "unknown_code"),
        ("PERCUST", "customer_required"),
    ] {
        let v = check(vec![code], None).await;
        assert_eq!(reason(&v, 0), want, "{code}: {v}");
        assert!(v["promotions"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(reason(&check(vec!["PERCUST"], Some("jon@doe.ca")).await, 0), "customer_limit_reached");
    assert_eq!(reason(&check(vec!["PERCUST"], Some("someone@else.example")).await, 0), "applies");
    // Stacking: a non-stackable code is used alone; stackable ones combine.
    let v = check(vec!["TEN", "FIVEOFF"], None).await;
    assert_eq!((reason(&v, 0), reason(&v, 1)), ("applies".into(), "not_combinable".into()));
    let v = check(vec!["FIVEOFF", "STACK2"], None).await;
    assert_eq!((reason(&v, 0), reason(&v, 1)), ("applies".into(), "applies".into()));
    // 200.00 - 5.00 = 195.00, then 2 % of it = 3.90.
    assert_eq!((v["discount"].as_i64(), v["total"].as_i64()), (Some(500 + 390), Some(20_000 - 890)));
    let v = check(vec!["TEN", "TEN"], None).await;
    assert_eq!(reason(&v, 1), "duplicate_code");
}

#[tokio::test]
async fn a_code_is_redeemed_once_per_order_even_when_retried_and_limits_hold_under_concurrency() {
    let s = Shop::new().await;
    let w = &s.w;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    s.w.post("/api/v1/catalog/items", json!({"platform_sku": "RT-EXO-5ML", "tenant_sku": "GLOW"}))
        .by(&admin)
        .expect(201)
        .await;
    let promo =
        s.w.post(
            "/api/v1/promotions",
            json!({"code": "LAUNCH", "discount_type": "percentage", "percent_bp": 1500, "usage_limit": 3}),
        )
        .by(&admin)
        .expect(201)
        .await;
    let body = |order: &str| {
        json!({"order_ref": order, "cart": {"codes": ["launch"], "currency": "USD",
               "lines": [{"sku": "GLOW", "quantity": 1, "unit_price": 10000}]}})
    };
    let redemption = |b: Value| w.post("/api/v1/promotions/redemptions", b).by(&admin);
    let first = redemption(body("A-1")).expect(201).await;
    assert_eq!(first["discount"], 1500);
    let retry = redemption(body("A-1")).send().await;
    assert_eq!((retry.status.as_u16(), retry.body["replayed"].as_bool()), (200, Some(true)));
    assert_eq!(retry.body["redemptions"][0]["id"], first["redemptions"][0]["id"]);
    let mut other = body("A-1");
    other["cart"]["codes"] = json!(["OTHER"]);
    assert_eq!(redemption(other).send().await.problem(409), "already_redeemed");

    // Ten orders at once (half through a second OS process) for the two uses left: exactly two win.
    let twin = w.twin().await;
    let mut statuses = twin
        .race_statuses(
            (0..5).map(|i| redemption(body(&format!("B-{i}")))),
            (5..10).map(|i| redemption(body(&format!("B-{i}")))),
        )
        .await;
    statuses.sort();
    assert_eq!(statuses, [201, 201, 422, 422, 422, 422, 422, 422, 422, 422]);
    // And one order retried concurrently from both processes counts once.
    let promo2 =
        s.w.post(
            "/api/v1/promotions",
            json!({"code": "TWICE", "discount_type": "fixed", "amount": 100, "currency": "USD"}),
        )
        .by(&admin)
        .expect(201)
        .await;
    let mut same = body("C-1");
    same["cart"]["codes"] = json!(["TWICE"]);
    let mut statuses = twin
        .race_statuses((0..4).map(|_| redemption(same.clone())), (0..4).map(|_| redemption(same.clone())))
        .await;
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201]);
    // The same order with different codes at once: one redemption; the other finds it and is refused.
    let mut one = body("D-1");
    one["cart"]["codes"] = json!(["TWICE"]);
    let two = body("D-1");
    let mut statuses = twin.race_statuses([redemption(one)], [redemption(two)]).await;
    statuses.sort();
    assert!(statuses == [201, 409] || statuses == [201, 422], "{statuses:?}");
    twin.stop().await;
    let counts = w
        .db
        .admin()
        .await
        .query_one(
            "SELECT (SELECT redemption_count FROM promotions WHERE id = $1), (SELECT redemption_count FROM promotions WHERE id = $2),
                    (SELECT count(*) FROM promotion_redemptions)",
            &[&uuid::Uuid::parse_str(promo["id"].as_str().unwrap()).unwrap(), &uuid::Uuid::parse_str(promo2["id"].as_str().unwrap()).unwrap()],
        )
        .await
        .unwrap();
    assert_eq!((counts.get::<_, i32>(0), counts.get::<_, i32>(1), counts.get::<_, i64>(2)), (3, 2, 5));
    let listed = w
        .call(
            "GET",
            &format!("/api/v1/promotions/{}/redemptions", promo["id"].as_str().unwrap()),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 3);
}
