//! The tenant-isolation walker and the read-only walker. Both take every route from `template.yaml`:
//! a route without a case here fails the walk, so no future route slips past.
//!
//! Isolation: each route is sent with tenant A's admin token against tenant B's objects (or, for
//! routes that take no object, with `X-Tenant-Id: B`); the answer must be 403 or 404, B's data must
//! be unchanged, and no B id may appear in the response. Positive control: the same request by B's
//! own admin (platform staff for platform routes) succeeds.
//!
//! Read-only: every mutating route with a permission answers 403 to each read-only role, and the
//! same request succeeds for the positive control.

use std::collections::BTreeSet;

use gateway::identity::policy::{Access, ROUTES, policy};
use gateway::identity::roles::ROLES;
use gateway::platform::tenant::TenantId;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Reply, template};
use crate::world::{Person, World};

/// One request.
#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: String,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

fn req(method: &'static str, path: impl Into<String>, body: Option<Value>) -> Req {
    Req { method, path: path.into(), body, headers: Vec::new() }
}

/// `r` with a fresh `Idempotency-Key` (every payment POST carries one).
fn keyed(mut r: Req) -> Req {
    r.headers.push(("idempotency-key", Uuid::now_v7().to_string()));
    r
}

/// `attack` must be refused; `control` by `controller` must succeed.
fn guarded(attack: Req, control: Req, controller: Person) -> Case {
    Case::Guarded { attack, control, controller }
}

/// What to send for one route.
#[allow(clippy::large_enum_variant)] // a handful per test run
enum Case {
    /// Public routes carry no tenant's data; sent with A's token, the answer must name nothing of B.
    Public { probe: Req },
    /// `attack` with A's admin token must be refused; `control` (the same request, B's side) by
    /// `controller` must succeed.
    Guarded { attack: Req, control: Req, controller: Person },
}

struct Walk {
    w: World,
    b: TenantId,
    a_admin: Person,
    /// An API key of tenant A with its admin's everyday permissions: the second attacker.
    a_key: String,
    /// The queries that read B's state and B's ids (see [`state_queries`]).
    state_sql: String,
    ids_sql: String,
    /// The payment provider sandboxes, the platform's default account set (started when a payment
    /// route needs them).
    sandboxes: tokio::sync::OnceCell<crate::sandboxes::Sandboxes>,
}

impl Walk {
    async fn new() -> Self {
        let w = World::new().await;
        // B is a marketplace vendor, so it also owns products the platform has not approved.
        let (a, b) = (w.tenant().await, w.tenant_of("vendor").await);
        // The walk sets up many objects per route: no rate limit may get in its way.
        w.unlimited(&[a, b, w.platform]).await;
        let a_admin = w.person(a, &["TENANT_ADMIN"]).await;
        let perms = [
            "users:read",
            "users:create",
            "users:update",
            "users:assign",
            "users:deactivate",
            "audit:read",
            "api_keys:read",
        ];
        let made = w
            .post("/api/v1/api-keys", json!({"name": "attacker", "permissions": perms}))
            .by(&a_admin)
            .expect(201)
            .await;
        let a_key = made["key"].as_str().unwrap().to_owned();
        let (state_sql, ids_sql) = state_queries(&w.db.admin().await).await;
        Self { w, b, a_admin, a_key, state_sql, ids_sql, sandboxes: tokio::sync::OnceCell::new() }
    }

    async fn b_admin(&self) -> Person {
        self.w.person(self.b, &["TENANT_ADMIN"]).await
    }

    async fn staff(&self) -> Person {
        self.w.person(self.w.platform, &["SUPER_ADMIN"]).await
    }

    /// `body` POSTed to `path` by B's admin (it must make something: 201); the answer.
    async fn b_made(&self, path: &str, body: Value) -> Value {
        self.w.post(path, body).by(&self.b_admin().await).expect(201).await
    }

    /// A fresh approved platform product's SKU (every case gets its own: controls repeat).
    async fn fresh_sku(&self) -> String {
        let sku = format!("W-{}", &Uuid::now_v7().simple().to_string()[16..]);
        self.w.product(&self.staff().await, &sku, &format!("Walker {sku}"), json!({})).await;
        sku
    }

    /// B's own product, pending review (B is a marketplace vendor).
    async fn b_product(&self) -> String {
        let sku = format!("WB-{}", &Uuid::now_v7().simple().to_string()[16..]);
        let body = json!({"sku": sku, "name": "B's own", "weight_grams": 10,
                          "dimensions_mm": {"length": 1, "width": 1, "height": 1}});
        self.b_made("/api/v1/catalog/products", body).await["id"].as_str().unwrap().to_owned()
    }

    /// B sells a fresh product under its own SKU at 10.00 USD; the SKU.
    async fn b_priced(&self) -> String {
        let sku = self.fresh_sku().await;
        let tenant_sku = format!("B-{sku}");
        self.b_made("/api/v1/catalog/items", json!({"platform_sku": sku, "tenant_sku": tenant_sku})).await;
        let list = self.b_made("/api/v1/pricing/price-lists", json!({"name": "B", "currency": "USD"})).await;
        let path = format!("/api/v1/pricing/price-lists/{}/prices/{sku}", list["id"].as_str().unwrap());
        let breaks = json!({"breaks": [{"min_quantity": 1, "unit_price": 1000}]});
        self.w.put(path, breaks).by(&self.b_admin().await).expect(200).await;
        tenant_sku
    }

    /// An order for B: `sku` a B SKU (priced, or unknown to hold the order).
    fn b_order(sku: &str) -> Value {
        json!({"currency": "USD", "customer": {"email": "b@example.com"},
               "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
               "lines": [{"sku": sku, "quantity": 1}], "payment": {"source": "terms"}})
    }

    /// A B order held for an unknown SKU; its id and its exception's id.
    /// A Shopify order B's channel delivered and intake refused: its `intake_rejected` exception
    /// (as the webhook keeps it), which a retry takes now.
    async fn b_refused_delivery(&self) -> String {
        use gateway::platform::exceptions::{NewException, Severity, open};
        let code = format!("shop-{}", &Uuid::now_v7().simple().to_string()[20..]);
        let channel =
            self.b_made("/api/v1/channels", json!({"code": code, "kind": "shopify", "name": "B shop"})).await;
        let payload: Value = serde_json::from_slice(
            &std::fs::read(crate::support::fixture("shopify-orders-create.json")).unwrap(),
        )
        .unwrap();
        let ex = NewException::new("intake_rejected", "webhooks-shopify", Severity::Error, "refused")
            .tenant(Some(self.b))
            .subject(format!("channel/{}/order/{}", channel["id"].as_str().unwrap(), payload["id"]))
            .details(json!({"channel_id": channel["id"], "channel_kind": "shopify", "topic": "create", "errors": [], "payload": payload}));
        let db = self.w.db.admin().await;
        open(&db, &ex, chrono::Utc::now()).await.unwrap().unwrap().to_string()
    }

    async fn b_held_order(&self) -> (String, String) {
        let made = self.b_made("/api/v1/orders", Self::b_order("NOT-MAPPED-ANYWHERE")).await;
        let id = made["id"].as_str().unwrap().to_owned();
        let order = self.w.get(format!("/api/v1/orders/{id}")).by(&self.b_admin().await).expect(200).await;
        (id, order["exceptions"][0]["id"].as_str().unwrap().to_owned())
    }

    fn b_cart(tenant_sku: &str, code: &str) -> Value {
        json!({"codes": [code], "currency": "USD", "lines": [{"sku": tenant_sku, "quantity": 1, "unit_price": 1000}]})
    }

    /// The case for `method path` from the context table that names it, or `None` if no table
    /// knows the route.
    async fn case(&self, method: &str, path: &str) -> Option<Case> {
        if let Some(case) = Self::platform_case(method, path) {
            return Some(case);
        }
        if let Some(case) = Box::pin(self.identity_case(method, path)).await {
            return Some(case);
        }
        if let Some(case) = Box::pin(self.catalog_case(method, path)).await {
            return Some(case);
        }
        if let Some(case) = Box::pin(self.orders_case(method, path)).await {
            return Some(case);
        }
        if let Some(case) = Box::pin(self.payments_case(method, path)).await {
            return Some(case);
        }
        if let Some(case) = Box::pin(self.inventory_case(method, path)).await {
            return Some(case);
        }
        Box::pin(self.operations_case(method, path)).await
    }

    /// Dead letters are platform operations' alone: a tenant's admin is refused every route;
    /// platform staff list, replay and purge (a message put in a dead-letter queue first).
    async fn operations_case(&self, method: &str, path: &str) -> Option<Case> {
        Some(match (method, path) {
            ("GET", "/api/v1/admin/dlq") => {
                let r = req("GET", path, None);
                guarded(r.clone(), r, self.staff().await)
            }
            ("POST", "/api/v1/admin/dlq/{queue}/replay") => {
                let r = req("POST", path.replace("{queue}", "notify-email"), Some(json!({"all": true})));
                guarded(r.clone(), r, self.staff().await)
            }
            ("POST", "/api/v1/admin/dlq/{queue}/purge") => {
                let sqs = self.w.state.sqs().await.unwrap();
                let url = sqs
                    .get_queue_url()
                    .queue_name(format!("{}-notify-email-dlq", self.w.stack))
                    .send()
                    .await
                    .unwrap()
                    .queue_url()
                    .unwrap()
                    .to_owned();
                let sent = sqs.send_message().queue_url(url).message_body("{}").send().await.unwrap();
                let body = json!({"message_id": sent.message_id().unwrap(), "reason": "a test letter"});
                let r = req("POST", path.replace("{queue}", "notify-email"), Some(body));
                guarded(r.clone(), r, self.staff().await)
            }
            _ => return None,
        })
    }

    /// A warehouse of B (a marketplace vendor keeps its own stock), made by platform staff acting
    /// for B, holding 5 units of a fresh SKU; its id and the SKU.
    async fn b_warehouse(&self) -> (String, String) {
        let code = format!("WB-{}", &Uuid::now_v7().simple().to_string()[20..]);
        let made = self
            .w
            .post("/api/v1/warehouses", Self::warehouse_body(&code))
            .by(&self.staff().await)
            .header("x-tenant-id", self.b.to_string())
            .expect(201)
            .await;
        let id = made["id"].as_str().unwrap().to_owned();
        let sku = self.fresh_sku().await;
        let body = json!({"warehouse_id": id, "platform_sku": sku, "quantity": 5});
        self.b_made("/api/v1/inventory/receive", body).await;
        (id, sku)
    }

    fn warehouse_body(code: &str) -> Value {
        json!({"code": code, "name": "B's shelf", "kind": "internal", "zones": ["KY"],
               "address": {"line1": "1 Dock Rd", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"}})
    }

    /// Stock is its owner's: A's admin names B's warehouse and is told it does not exist; reads
    /// acting for B are refused; warehouses are made and changed by platform staff (here for B).
    async fn inventory_case(&self, method: &str, path: &str) -> Option<Case> {
        Some(match (method, path) {
            ("GET", "/api/v1/inventory")
            | ("GET", "/api/v1/inventory/alerts")
            | ("GET", "/api/v1/inventory/forecast")
            | ("GET", "/api/v1/inventory/movements")
            | ("GET", "/api/v1/warehouses") => {
                self.b_warehouse().await;
                self.for_b(req("GET", path, None)).await
            }
            ("GET", "/api/v1/inventory/availability") => {
                let tenant_sku = self.b_priced().await;
                let sku = tenant_sku.strip_prefix("B-").unwrap();
                self.for_b(req("GET", format!("{path}?platform_sku={sku}"), None)).await
            }
            ("POST", "/api/v1/inventory/receive") | ("POST", "/api/v1/inventory/adjust") => {
                let (id, sku) = self.b_warehouse().await;
                let body = json!({"warehouse_id": id, "platform_sku": sku, "quantity": 1, "reason": "found"});
                let mut body = body;
                if path.ends_with("receive") {
                    body.as_object_mut().unwrap().remove("reason");
                }
                let r = req("POST", path, Some(body));
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/warehouses") => {
                let code = |p: &str| format!("{p}-{}", &Uuid::now_v7().simple().to_string()[20..]);
                let attack = self.acting_b(req("POST", path, Some(Self::warehouse_body(&code("WA")))));
                let control = self.acting_b(req("POST", path, Some(Self::warehouse_body(&code("WC")))));
                guarded(attack, control, self.staff().await)
            }
            ("PATCH", "/api/v1/warehouses/{id}") => {
                let (id, _) = self.b_warehouse().await;
                let r = req("PATCH", path.replace("{id}", &id), Some(json!({"priority": 7})));
                guarded(r.clone(), self.acting_b(r), self.staff().await)
            }
            ("GET", "/api/v1/orders/{id}/reservations") => {
                let (order, _) = self.b_held_order().await;
                let r = req("GET", path.replace("{id}", &order), None);
                guarded(r.clone(), r, self.b_admin().await)
            }
            _ => return None,
        })
    }

    /// A merchant account made by platform staff; its id.
    async fn staff_account(&self, gateway: &str) -> String {
        let body = json!({"gateway": gateway, "name": format!("acct-{}", &Uuid::now_v7().simple().to_string()[16..]),
            "credentials_secret": "payments/test"});
        let made = self
            .w
            .post("/api/v1/admin/payments/merchant-accounts", body)
            .by(&self.staff().await)
            .expect(201)
            .await;
        made["id"].as_str().unwrap().to_owned()
    }

    fn account_set(nmi: &str) -> Value {
        json!({"name": format!("set-{}", &Uuid::now_v7().simple().to_string()[16..]), "descriptor": "REGEN*TEST",
            "primary_gateway": "nmi", "nmi_account_id": nmi})
    }

    /// Payment configuration is the platform's: a tenant admin is refused, platform staff succeed.
    async fn payments_case(&self, method: &str, path: &str) -> Option<Case> {
        let b = self.b;
        Some(match (method, path) {
            ("POST", "/api/v1/admin/payments/merchant-accounts") => {
                let body = json!({"gateway": "nmi", "name": format!("acct-{}", &Uuid::now_v7().simple().to_string()[16..]),
                    "credentials_secret": "payments/test"});
                let r = req("POST", path, Some(body));
                guarded(r.clone(), r, self.staff().await)
            }
            ("GET", "/api/v1/admin/payments/merchant-accounts")
            | ("GET", "/api/v1/admin/payments/account-sets") => {
                let r = req("GET", path, None);
                guarded(r.clone(), r, self.staff().await)
            }
            ("PATCH", "/api/v1/admin/payments/merchant-accounts/{id}") => {
                let id = self.staff_account("nmi").await;
                let r = req("PATCH", path.replace("{id}", &id), Some(json!({"enabled": false})));
                guarded(r.clone(), r, self.staff().await)
            }
            ("POST", "/api/v1/admin/payments/account-sets") => {
                let nmi = self.staff_account("nmi").await;
                let r = req("POST", path, Some(Self::account_set(&nmi)));
                // The control makes the set; the attack (refused) must not take its name first.
                let mut attack = r.clone();
                attack.body = Some(Self::account_set(&nmi));
                guarded(attack, r, self.staff().await)
            }
            ("GET", "/api/v1/admin/tenants/{id}/payment-accounts") => {
                let r = req("GET", path.replace("{id}", &b.to_string()), None);
                guarded(r.clone(), r, self.staff().await)
            }
            ("POST", "/api/v1/payment-methods") => {
                let s = self.sandboxes.get_or_init(|| crate::payments::configured(&self.w)).await;
                let body = crate::payments::method_body(s, true).await;
                let mut attack = self.acting_b(req("POST", path, Some(body.clone())));
                // The attack's tokens are its own (a token is single use: the control's must be fresh).
                attack.body = Some(crate::payments::method_body(s, true).await);
                guarded(attack, req("POST", path, Some(body)), self.b_admin().await)
            }
            ("GET", "/api/v1/payment-methods/{id}") => {
                let s = self.sandboxes.get_or_init(|| crate::payments::configured(&self.w)).await;
                let made = self
                    .b_made("/api/v1/payment-methods", crate::payments::method_body(s, false).await)
                    .await;
                let r = req("GET", path.replace("{id}", made["id"].as_str().unwrap()), None);
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/payments/charge") => {
                let (order, method) = self.b_chargeable().await;
                let body = json!({"order_id": order, "payment_method_id": method});
                // A's admin names B's order and method in its own tenant: neither is there.
                let attack = keyed(req("POST", path, Some(body.clone())));
                guarded(attack, keyed(req("POST", path, Some(body))), self.b_admin().await)
            }
            ("POST", "/api/v1/orders/{id}/payment") => {
                let (order, method) = self.b_chargeable().await;
                // B's order whose payment was declined (the NMI sandbox declines under 1.00).
                let declined = json!({"order_id": order, "payment_method_id": method, "amount": 50});
                self.w
                    .post("/api/v1/payments/charge", declined)
                    .by(&self.b_admin().await)
                    .header("idempotency-key", Uuid::now_v7().to_string())
                    .expect(402)
                    .await;
                let body = json!({"payment_method_id": method});
                let path = path.replace("{id}", &order);
                // A's admin names B's order and method in its own tenant: neither is there.
                let attack = keyed(req("POST", &path, Some(body.clone())));
                guarded(attack, keyed(req("POST", &path, Some(body))), self.b_admin().await)
            }
            ("POST", "/api/v1/payments/{id}/capture") | ("POST", "/api/v1/payments/{id}/void") => {
                let id = self.b_payment(false).await;
                let r = keyed(req("POST", path.replace("{id}", &id), Some(json!({}))));
                guarded(r.clone(), self.acting_b(r), self.b_finance().await)
            }
            ("POST", "/api/v1/payments/refund") => {
                let id = self.b_payment(true).await;
                let r = keyed(req("POST", path, Some(json!({"payment_id": id, "amount": 100}))));
                guarded(r.clone(), self.acting_b(r), self.b_finance().await)
            }
            ("GET", "/api/v1/payments/{id}") => {
                let id = self.b_payment(true).await;
                let r = req("GET", path.replace("{id}", &id), None);
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("GET", "/api/v1/payments") => {
                self.b_payment(true).await;
                self.for_b(req("GET", path, None)).await
            }
            ("GET", "/api/v1/admin/reconciliation") => {
                let r = req("GET", path, None);
                guarded(r.clone(), r, self.staff().await)
            }
            ("PUT", "/api/v1/admin/tenants/{id}/payment-accounts") => {
                let nmi = self.staff_account("nmi").await;
                let set = self
                    .w
                    .post("/api/v1/admin/payments/account-sets", Self::account_set(&nmi))
                    .by(&self.staff().await)
                    .expect(201)
                    .await;
                let r = req(
                    "PUT",
                    path.replace("{id}", &b.to_string()),
                    Some(json!({"account_set_id": set["id"]})),
                );
                guarded(r.clone(), r, self.staff().await)
            }
            _ => return None,
        })
    }

    /// An order of B and a stored payment method of B's customer.
    async fn b_chargeable(&self) -> (String, String) {
        let s = self.sandboxes.get_or_init(|| crate::payments::configured(&self.w)).await;
        let order = self.b_made("/api/v1/orders", Self::b_order(&self.b_priced().await)).await;
        let method =
            self.b_made("/api/v1/payment-methods", crate::payments::method_body(s, true).await).await;
        (order["id"].as_str().unwrap().to_owned(), method["id"].as_str().unwrap().to_owned())
    }

    /// A payment of B's: captured (`capture`) or only authorized; its id.
    async fn b_payment(&self, capture: bool) -> String {
        let (order, method) = self.b_chargeable().await;
        let body = json!({"order_id": order, "payment_method_id": method, "capture": capture});
        let made = self
            .w
            .post("/api/v1/payments/charge", body)
            .by(&self.b_admin().await)
            .header("idempotency-key", Uuid::now_v7().to_string())
            .expect(201)
            .await;
        made["id"].as_str().unwrap().to_owned()
    }

    /// Platform finance staff (they act for B by naming it).
    async fn b_finance(&self) -> Person {
        self.w.person(self.w.platform, &["FINANCE_ADMIN"]).await
    }

    /// Tenant B's side of a request that names no object: `r` acting for B (`X-Tenant-Id`).
    fn acting_b(&self, mut r: Req) -> Req {
        r.headers.push(("x-tenant-id", self.b.to_string()));
        r
    }

    /// A request that names no object: A sends it acting for B; B's admin sends it as it is.
    async fn for_b(&self, r: Req) -> Case {
        guarded(self.acting_b(r.clone()), r, self.b_admin().await)
    }

    /// The platform's routes: public, and no tenant's.
    fn platform_case(method: &str, path: &str) -> Option<Case> {
        match (method, path) {
            ("GET", "/api/v1/health") | ("GET", "/api/v1/health/ready") | ("GET", "/api/v1/openapi.json") => {
                Some(Case::Public { probe: req("GET", path, None) })
            }
            _ => None,
        }
    }

    /// Identity's routes (sign-in, sessions, tenants, users, second factors, SSO, settings, keys).
    async fn identity_case(&self, method: &str, path: &str) -> Option<Case> {
        let b = self.b;
        Some(match (method, path) {
            ("POST", "/api/v1/auth/login") => Case::Public {
                probe: req(
                    "POST",
                    path,
                    Some(json!({"email": "x@example.com", "password": "wrong password"})),
                ),
            },
            ("POST", "/api/v1/auth/refresh") => {
                // B's refresh token is B's secret; A holds only its own. A garbled one of B's scope fails.
                let forged = format!("{b}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
                Case::Public { probe: req("POST", path, Some(json!({ "refresh_token": forged }))) }
            }
            ("POST", "/api/v1/auth/password-reset") => {
                Case::Public { probe: req("POST", path, Some(json!({ "email": "someone@example.com" }))) }
            }
            ("POST", "/api/v1/auth/password-reset/confirm") => {
                let forged = format!("{b}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
                Case::Public {
                    probe: req(
                        "POST",
                        path,
                        Some(json!({ "token": forged, "new_password": "long enough password" })),
                    ),
                }
            }
            ("POST", "/api/v1/auth/invitations/accept") => {
                let forged = format!("{b}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
                Case::Public {
                    probe: req(
                        "POST",
                        path,
                        Some(json!({ "token": forged, "password": "long enough password" })),
                    ),
                }
            }
            ("POST", "/api/v1/auth/logout")
            | ("GET", "/api/v1/auth/me")
            | ("GET", "/api/v1/auth/sessions")
            | ("GET", "/api/v1/roles") => {
                // Self-service routes refuse to act for another tenant.
                let r = req(if method == "GET" { "GET" } else { "POST" }, path, None);
                self.for_b(r).await
            }
            ("POST", "/api/v1/auth/switch-tenant") => {
                let r = req("POST", path, Some(json!({ "tenant_id": b })));
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("DELETE", "/api/v1/auth/sessions/{id}") => {
                let victim = self.w.person(b, &["TENANT_USER"]).await;
                let other = self.w.mint(victim.id, b).await;
                let r = req("DELETE", format!("/api/v1/auth/sessions/{}", other.session_id), None);
                guarded(r.clone(), r, victim)
            }
            ("POST", "/api/v1/tenants") => {
                let r = req(
                    "POST",
                    path,
                    Some(
                        json!({ "slug": format!("new-{}", &Uuid::now_v7().simple().to_string()[20..]), "name": "New" }),
                    ),
                );
                guarded(r.clone(), r, self.staff().await)
            }
            ("GET", "/api/v1/tenants") => {
                let r = req("GET", path, None);
                guarded(r.clone(), r, self.staff().await)
            }
            ("GET", "/api/v1/tenants/{id}") => {
                let r = req("GET", format!("/api/v1/tenants/{b}"), None);
                guarded(r.clone(), r, self.staff().await)
            }
            ("PATCH", "/api/v1/tenants/{id}") => {
                let r = req("PATCH", format!("/api/v1/tenants/{b}"), Some(json!({ "name": "Renamed" })));
                guarded(r.clone(), r, self.staff().await)
            }
            ("POST", "/api/v1/tenants/{id}/suspend") | ("POST", "/api/v1/tenants/{id}/reactivate") => {
                if path.ends_with("/reactivate") {
                    // Only a suspended tenant is reactivated: B is suspended for this case.
                    let admin = self.w.db.admin().await;
                    admin
                        .execute("UPDATE tenants SET status = 'suspended' WHERE id = $1", &[&b.as_uuid()])
                        .await
                        .unwrap();
                }
                let r = req("POST", path.replace("{id}", &b.to_string()), Some(json!({})));
                guarded(r.clone(), r, self.staff().await)
            }
            ("POST", "/api/v1/users/invitations") => {
                let r = req(
                    "POST",
                    path,
                    Some(
                        json!({ "email": format!("{}@example.com", crate::support::unique()), "roles": ["TENANT_USER"] }),
                    ),
                );
                self.for_b(r).await
            }
            ("GET", "/api/v1/users") | ("GET", "/api/v1/audit-log") => {
                let r = req("GET", path, None);
                self.for_b(r).await
            }
            ("GET", "/api/v1/users/{id}")
            | ("PATCH", "/api/v1/users/{id}")
            | ("PUT", "/api/v1/users/{id}/roles")
            | ("POST", "/api/v1/users/{id}/deactivate") => {
                let target = self.w.person(b, &["TENANT_USER"]).await;
                let p = path.replace("{id}", &target.id.to_string());
                let body = match method {
                    "PATCH" => Some(json!({ "display_name": "Changed" })),
                    "PUT" => Some(json!({ "roles": ["TENANT_USER", "SALES_REP"] })),
                    _ => None,
                };
                let method = match method {
                    "GET" => "GET",
                    "PATCH" => "PATCH",
                    "PUT" => "PUT",
                    _ => "POST",
                };
                let r = req(method, p, body);
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/auth/mfa/verify") | ("POST", "/api/v1/auth/mfa/email") => {
                // A challenge is the holder's secret; a forged one naming a B user gets nowhere.
                let forged =
                    format!("{}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", self.b_admin().await.id);
                let body = if path.ends_with("/verify") {
                    json!({ "challenge_token": forged, "code": "123456" })
                } else {
                    json!({ "challenge_token": forged })
                };
                Case::Public { probe: req("POST", path, Some(body)) }
            }
            ("GET", "/api/v1/auth/sso/{provider}") => {
                Case::Public { probe: req("GET", format!("/api/v1/auth/sso/google?tenant={b}"), None) }
            }
            ("GET", "/api/v1/auth/sso/{provider}/callback") => {
                let forged = format!("{b}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
                Case::Public {
                    probe: req(
                        "GET",
                        format!("/api/v1/auth/sso/google/callback?code=x&state={forged}"),
                        None,
                    ),
                }
            }
            ("PUT", "/api/v1/sso/providers/{name}") => {
                let body = json!({ "issuer": "https://idp.example.com", "client_id": "gateway" });
                let r = req("PUT", "/api/v1/sso/providers/walker", Some(body));
                self.for_b(r).await
            }
            ("GET", "/api/v1/settings") => {
                let r = req("GET", path, None);
                self.for_b(r).await
            }
            ("PUT", "/api/v1/settings/{key}") => {
                // (The value the walk runs under: a lower one would throttle the routes after it.)
                let r = req(
                    "PUT",
                    "/api/v1/settings/rate_limit.write_per_minute",
                    Some(json!({ "value": 100_000 })),
                );
                self.for_b(r).await
            }
            ("GET", "/api/v1/sso/providers") => {
                let r = req("GET", path, None);
                self.for_b(r).await
            }
            ("POST", "/api/v1/auth/mfa/setup") => {
                let r = req("POST", path, None);
                self.for_b(r).await
            }
            ("POST", "/api/v1/auth/mfa/confirm") | ("POST", "/api/v1/auth/mfa/disable") => {
                // B's person has an enrolment in progress (confirm) or a live one (disable).
                let owner = self.b_admin().await;
                let secret = crate::mfa::setup(&self.w, &owner).await;
                if path.ends_with("/disable") {
                    crate::mfa::confirm(&self.w, &owner, &secret).await;
                    self.w.clock.advance(chrono::Duration::seconds(30));
                }
                let code = crate::mfa::current_code(&self.w, &secret);
                let r = req("POST", path, Some(json!({ "code": code })));
                guarded(self.acting_b(r.clone()), r, owner)
            }
            ("POST", "/api/v1/api-keys") => {
                let r = req("POST", path, Some(json!({ "name": "walker", "permissions": ["users:read"] })));
                self.for_b(r).await
            }
            ("GET", "/api/v1/api-keys") => {
                let r = req("GET", path, None);
                self.for_b(r).await
            }
            ("POST", "/api/v1/api-keys/{id}/rotate") | ("DELETE", "/api/v1/api-keys/{id}") => {
                let owner = self.b_admin().await;
                let body = json!({"name": "b key", "permissions": ["users:read"]});
                let made = self.w.post("/api/v1/api-keys", body).by(&owner).expect(201).await;
                let p = path.replace("{id}", made["id"].as_str().unwrap());
                let r =
                    if method == "DELETE" { req("DELETE", p, None) } else { req("POST", p, Some(json!({}))) };
                guarded(r.clone(), r, owner)
            }
            _ => return None,
        })
    }

    /// The catalog's routes.
    async fn catalog_case(&self, method: &str, path: &str) -> Option<Case> {
        Some(match (method, path) {
            // Catalog: categories are the platform's; products are the platform's or a vendor's.
            ("GET", "/api/v1/catalog/categories")
            | ("GET", "/api/v1/catalog/products")
            | ("GET", "/api/v1/catalog/items")
            | ("GET", "/api/v1/mappings/skus")
            | ("GET", "/api/v1/mappings/skus/export")
            | ("GET", "/api/v1/pricing/price-lists")
            | ("GET", "/api/v1/promotions") => {
                let r = req("GET", path, None);
                self.for_b(r).await
            }
            ("GET", "/api/v1/mappings/skus/suggestions") => {
                let r = req("GET", "/api/v1/mappings/skus/suggestions?sku=WB-1", None);
                self.for_b(r).await
            }
            ("POST", "/api/v1/catalog/categories") => {
                let slug = format!("walk-{}", &Uuid::now_v7().simple().to_string()[20..]);
                let r = req("POST", path, Some(json!({"slug": slug, "name": "Walker"})));
                guarded(r.clone(), r, self.staff().await)
            }
            ("PATCH", "/api/v1/catalog/categories/{id}") => {
                let slug = format!("walk-{}", &Uuid::now_v7().simple().to_string()[20..]);
                let staff = self.staff().await;
                let body = json!({"slug": slug, "name": "W"});
                let made = self.w.post("/api/v1/catalog/categories", body).by(&staff).expect(201).await;
                let r = req(
                    "PATCH",
                    path.replace("{id}", made["id"].as_str().unwrap()),
                    Some(json!({"name": "Renamed"})),
                );
                guarded(r.clone(), r, staff)
            }
            ("POST", "/api/v1/catalog/products") => {
                let sku = format!("WB-{}", &Uuid::now_v7().simple().to_string()[16..]);
                let body = json!({"sku": sku, "name": "B's", "weight_grams": 10,
                                  "dimensions_mm": {"length": 1, "width": 1, "height": 1}});
                let r = req("POST", path, Some(body));
                self.for_b(r).await
            }
            ("GET", "/api/v1/catalog/products/{id}") | ("PATCH", "/api/v1/catalog/products/{id}") => {
                let p = path.replace("{id}", &self.b_product().await);
                let r = if method == "GET" {
                    req("GET", p, None)
                } else {
                    req("PATCH", p, Some(json!({"description": "x"})))
                };
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/catalog/products/{id}/review") => {
                let p = path.replace("{id}", &self.b_product().await);
                let r = req("POST", p, Some(json!({"decision": "approve"})));
                guarded(r.clone(), r, self.staff().await)
            }
            ("POST", "/api/v1/catalog/items") => {
                let sku = self.fresh_sku().await;
                let r =
                    req("POST", path, Some(json!({"platform_sku": sku, "tenant_sku": format!("B-{sku}")})));
                self.for_b(r).await
            }
            ("GET", "/api/v1/catalog/items/{id}")
            | ("PATCH", "/api/v1/catalog/items/{id}")
            | ("DELETE", "/api/v1/catalog/items/{id}") => {
                let sku = self.fresh_sku().await;
                let made = self
                    .b_made(
                        "/api/v1/catalog/items",
                        json!({"platform_sku": sku, "tenant_sku": format!("B-{sku}")}),
                    )
                    .await;
                let p = path.replace("{id}", made["id"].as_str().unwrap());
                let r = match method {
                    "GET" => req("GET", p, None),
                    "PATCH" => req("PATCH", p, Some(json!({"visibility": "hidden"}))),
                    _ => req("DELETE", p, None),
                };
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/mappings/skus") => {
                let sku = self.fresh_sku().await;
                let r =
                    req("POST", path, Some(json!({"identifier": format!("B-{sku}"), "platform_sku": sku})));
                self.for_b(r).await
            }
            ("POST", "/api/v1/mappings/skus/bulk") => {
                let sku = self.fresh_sku().await;
                let r = req(
                    "POST",
                    path,
                    Some(json!({"mappings": [{"identifier": format!("B-{sku}"), "platform_sku": sku}]})),
                );
                self.for_b(r).await
            }
            ("POST", "/api/v1/mappings/skus/resolve") => {
                let r = req("POST", path, Some(json!({"items": [{"sku": "B-1"}]})));
                self.for_b(r).await
            }
            ("GET", "/api/v1/mappings/skus/{id}")
            | ("PATCH", "/api/v1/mappings/skus/{id}")
            | ("DELETE", "/api/v1/mappings/skus/{id}") => {
                let sku = self.fresh_sku().await;
                let made = self
                    .b_made(
                        "/api/v1/mappings/skus",
                        json!({"identifier": format!("B-{sku}"), "platform_sku": sku}),
                    )
                    .await;
                let p = path.replace("{id}", made["id"].as_str().unwrap());
                let r = match method {
                    "GET" => req("GET", p, None),
                    "PATCH" => req("PATCH", p, Some(json!({"note": "changed"}))),
                    _ => req("DELETE", p, None),
                };
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/pricing/price-lists") => {
                let r = req("POST", path, Some(json!({"name": "walker", "currency": "USD"})));
                self.for_b(r).await
            }
            ("GET", "/api/v1/pricing/price-lists/{id}")
            | ("PATCH", "/api/v1/pricing/price-lists/{id}")
            | ("PUT", "/api/v1/pricing/price-lists/{id}/prices/{sku}")
            | ("DELETE", "/api/v1/pricing/price-lists/{id}/prices/{sku}") => {
                let list =
                    self.b_made("/api/v1/pricing/price-lists", json!({"name": "B", "currency": "USD"})).await;
                let sku = self.fresh_sku().await;
                let p = path.replace("{id}", list["id"].as_str().unwrap()).replace("{sku}", &sku);
                let breaks = json!({"breaks": [{"min_quantity": 1, "unit_price": 1000}]});
                if method == "DELETE" {
                    self.w.put(&p, breaks.clone()).by(&self.b_admin().await).expect(200).await;
                }
                let r = match method {
                    "GET" => req("GET", p, None),
                    "PATCH" => req("PATCH", p, Some(json!({"priority": 3}))),
                    "PUT" => req("PUT", p, Some(breaks)),
                    _ => req("DELETE", p, None),
                };
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/pricing/quote") => {
                let sku = self.b_priced().await;
                let r = req("POST", path, Some(json!({"lines": [{"sku": sku, "quantity": 2}]})));
                self.for_b(r).await
            }
            ("POST", "/api/v1/promotions") => {
                let code = format!("W{}", &Uuid::now_v7().simple().to_string()[20..]);
                let r = req(
                    "POST",
                    path,
                    Some(json!({"code": code, "discount_type": "percentage", "percent_bp": 500})),
                );
                self.for_b(r).await
            }
            ("GET", "/api/v1/promotions/{id}")
            | ("PATCH", "/api/v1/promotions/{id}")
            | ("GET", "/api/v1/promotions/{id}/redemptions") => {
                let code = format!("W{}", &Uuid::now_v7().simple().to_string()[20..]);
                let made = self
                    .b_made(
                        "/api/v1/promotions",
                        json!({"code": code, "discount_type": "percentage", "percent_bp": 500}),
                    )
                    .await;
                let p = path.replace("{id}", made["id"].as_str().unwrap());
                let r = if method == "PATCH" {
                    req("PATCH", p, Some(json!({"active": false})))
                } else {
                    req("GET", p, None)
                };
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/promotions/validate") | ("POST", "/api/v1/promotions/redemptions") => {
                let code = format!("W{}", &Uuid::now_v7().simple().to_string()[20..]);
                self.b_made(
                    "/api/v1/promotions",
                    json!({"code": code, "discount_type": "percentage", "percent_bp": 500}),
                )
                .await;
                let sku = self.b_priced().await;
                let cart = Self::b_cart(&sku, &code);
                let body = if path.ends_with("/validate") {
                    cart
                } else {
                    json!({"order_ref": format!("walk-{}", Uuid::now_v7()), "cart": cart})
                };
                let r = req("POST", path, Some(body));
                self.for_b(r).await
            }
            _ => return None,
        })
    }

    /// The orders' routes.
    async fn orders_case(&self, method: &str, path: &str) -> Option<Case> {
        Some(match (method, path) {
            // Orders.
            ("POST", "/api/v1/orders") | ("POST", "/api/v1/orders/validate") => {
                let sku = self.b_priced().await;
                let r = req("POST", path, Some(Self::b_order(&sku)));
                self.for_b(r).await
            }
            ("GET", "/api/v1/orders")
            | ("GET", "/api/v1/approvals")
            | ("GET", "/api/v1/admin/exceptions")
            | ("GET", "/api/v1/channels") => {
                let r = req("GET", path, None);
                self.for_b(r).await
            }
            ("GET", "/api/v1/orders/{id}")
            | ("PATCH", "/api/v1/orders/{id}")
            | ("POST", "/api/v1/orders/{id}/revalidate") => {
                let (order, _) = self.b_held_order().await;
                let p = path.replace("{id}", &order);
                let r = match method {
                    "GET" => req("GET", p, None),
                    "PATCH" => req("PATCH", p, Some(json!({"notes": "changed"}))),
                    _ => req("POST", p, None),
                };
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("GET", "/api/v1/admin/exceptions/{id}") => {
                let (_, exception) = self.b_held_order().await;
                let r = req("GET", path.replace("{id}", &exception), None);
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/admin/exceptions/{id}/retry") => {
                let exception = self.b_refused_delivery().await;
                let r = req("POST", path.replace("{id}", &exception), None);
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/admin/exceptions/{id}/resolve") => {
                let (_, exception) = self.b_held_order().await;
                let r = req("POST", path.replace("{id}", &exception), Some(json!({"resolution": "handled"})));
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/approvals") => {
                let sku = format!("WG-{}", &Uuid::now_v7().simple().to_string()[16..]);
                self.w.product(&self.staff().await, &sku, "gated", json!({"approval_gated": true})).await;
                let expires = chrono::Utc::now() + chrono::Duration::days(30);
                let r = req(
                    "POST",
                    path,
                    Some(
                        json!({"customer_email": "b@example.com", "platform_sku": sku, "expires_at": expires}),
                    ),
                );
                self.for_b(r).await
            }
            ("POST", "/api/v1/channels") => {
                let code = format!("c{}", &Uuid::now_v7().simple().to_string()[20..]);
                let r = req("POST", path, Some(json!({"code": code, "kind": "custom", "name": "walker"})));
                self.for_b(r).await
            }
            ("POST", "/api/v1/channels/{id}/profiles")
            | ("POST", "/api/v1/channels/{id}/profiles/preview") => {
                let code = format!("c{}", &Uuid::now_v7().simple().to_string()[20..]);
                let made = self
                    .b_made("/api/v1/channels", json!({"code": code, "kind": "custom", "name": "b"}))
                    .await;
                let p = path.replace("{id}", made["id"].as_str().unwrap());
                let rules = json!({"fields": {"currency": {"constant": "USD"}}, "lines": {"path": "$.items[*]", "fields": {"sku": {"path": "$.code"}, "quantity": {"path": "$.qty"}}}});
                let body = if path.ends_with("/preview") {
                    json!({"payload": {"items": [{"code": "X", "qty": 1}]}, "rules": rules})
                } else {
                    rules
                };
                let r = req("POST", p, Some(body));
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/webhooks/shopify/{id}") | ("POST", "/api/v1/webhooks/woocommerce/{id}") => {
                // B's channel, a forged signature: refused before anything is read.
                let kind = if path.contains("shopify") { "shopify" } else { "woocommerce" };
                let code = format!("{kind}{}", &Uuid::now_v7().simple().to_string()[24..]);
                let made =
                    self.b_made("/api/v1/channels", json!({"code": code, "kind": kind, "name": "b"})).await;
                let mut r =
                    req("POST", path.replace("{id}", made["id"].as_str().unwrap()), Some(json!({"id": 1})));
                r.headers.push(("x-shopify-hmac-sha256", "Zm9yZ2Vk".into()));
                r.headers.push(("x-wc-webhook-signature", "Zm9yZ2Vk".into()));
                r.headers.push(("x-shopify-topic", "orders/create".into()));
                r.headers.push(("x-wc-webhook-topic", "order.created".into()));
                Case::Public { probe: r }
            }
            _ => return None,
        })
    }

    async fn send(&self, r: &Req, token: &str) -> Reply {
        self.w.call_with(r.method, &r.path, Some(token), r.body.clone(), &r.headers).await
    }

    /// The same request with tenant A's API key in `X-Api-Key`.
    async fn send_with_key(&self, r: &Req) -> Reply {
        let mut headers = r.headers.clone();
        headers.push(("x-api-key", self.a_key.clone()));
        self.w.call_with(r.method, &r.path, None, r.body.clone(), &headers).await
    }

    /// Undoes a control request that would stop B's later controls (a suspension).
    async fn restore(&self) {
        let admin = self.w.db.admin().await;
        admin
            .execute("UPDATE tenants SET status = 'active' WHERE id = $1", &[&self.b.as_uuid()])
            .await
            .unwrap();
    }

    /// Every row of tenant B, as text: what "no change" compares (over every table of
    /// [`tenant_state`]).
    async fn b_state(&self) -> String {
        let admin = self.w.db.admin().await;
        admin.query_one(&self.state_sql, &[&self.b.as_uuid()]).await.unwrap().get(0)
    }

    /// Ids of B that must never show up in A's answers: the `id` of each row of B in every table of
    /// [`tenant_state`], but for B's approved products (for sale to everyone).
    async fn b_ids(&self) -> BTreeSet<String> {
        let admin = self.w.db.admin().await;
        let mut ids: BTreeSet<String> = [self.b.to_string()].into();
        for r in admin.query(&self.ids_sql, &[&self.b.as_uuid()]).await.unwrap() {
            ids.insert(r.get::<_, Uuid>(0).to_string());
        }
        ids
    }
}

/// The queries over every tenant table for [`Walk::b_state`] and [`Walk::b_ids`] (`$1` the tenant).
async fn state_queries(admin: &tokio_postgres::Client) -> (String, String) {
    let tables = tenant_state(admin).await;
    let state: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "'{name}: ' || coalesce((SELECT string_agg({p}, ',' ORDER BY {p}) FROM {name} x WHERE {of}), '')",
                name = t.name,
                p = t.projection(),
                of = t.of_tenant
            )
        })
        .collect();
    let ids: Vec<String> = tables
        .iter()
        .filter(|t| t.uuid_id)
        .map(|t| {
            let own = if t.name == "products" { " AND x.review_status <> 'approved'" } else { "" };
            format!("SELECT x.id FROM {} x WHERE {}{own}", t.name, t.of_tenant)
        })
        .collect();
    (format!("SELECT array_to_string(ARRAY[{}], E'\\n')", state.join(",\n")), ids.join("\nUNION ALL "))
}

/// A table that holds tenant state, read from the database catalogue.
#[derive(Debug)]
struct TenantTable {
    name: String,
    /// The condition (over the alias `x`) that picks tenant `$1`'s rows.
    of_tenant: &'static str,
    /// It has a uuid `id` column.
    uuid_id: bool,
}

impl TenantTable {
    /// What "no change" compares of a row: all of it, but for the credentials whose last-use times
    /// move on every request (what changing them would mean: revoked, used, rotated).
    fn projection(&self) -> &'static str {
        match self.name.as_str() {
            "sessions" => "concat(x.id, x.revoked_at)",
            "refresh_tokens" => "concat(x.id, x.used_at)",
            "api_keys" => "concat(x.id, x.revoked_at, x.grace_until)",
            _ => "x::text",
        }
    }
}

/// Tables under row-level security that hold no tenant's data (the platform's category tree).
const SHARED_TABLES: &[&str] = &["categories"];

/// Every table that holds tenant data: each table with a `tenant_id` (or `owner_tenant_id`) column
/// or with row-level security enabled, from the catalogue; B's rows found by tenant, or, for a
/// user's own tables, by B's members. A protected table the walker cannot attribute fails here.
async fn tenant_state(admin: &tokio_postgres::Client) -> Vec<TenantTable> {
    let rows = admin
        .query(
            "SELECT c.relname::text, c.relrowsecurity,
                    bool_or(a.attname = 'tenant_id'), bool_or(a.attname = 'owner_tenant_id'),
                    bool_or(a.attname = 'user_id'), bool_or(a.attname = 'id' AND a.atttypid = 'uuid'::regtype)
               FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace
              GROUP BY c.relname, c.relrowsecurity ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let mut tables = Vec::new();
    for r in rows {
        let (name, rls, tenant_id, owner, user_id, uuid_id): (String, bool, bool, bool, bool, bool) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5));
        let of_tenant = match name.as_str() {
            _ if tenant_id => "x.tenant_id = $1",
            _ if owner => "x.owner_tenant_id = $1",
            "tenants" => "x.id = $1",
            "users" => "x.id IN (SELECT m.user_id FROM tenant_users m WHERE m.tenant_id = $1)",
            _ if !rls || SHARED_TABLES.contains(&name.as_str()) => continue,
            _ if user_id => "x.user_id IN (SELECT m.user_id FROM tenant_users m WHERE m.tenant_id = $1)",
            _ => {
                panic!("{name} is under row-level security, but the walker cannot tell a tenant's rows in it")
            }
        };
        tables.push(TenantTable { name, of_tenant, uuid_id });
    }
    tables
}

fn template_routes() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in template().functions().unwrap() {
        for r in f.routes {
            out.push((r.method, r.path));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn every_route_declares_its_access_in_the_policy_table() {
    let routes = template_routes();
    let missing: Vec<_> = routes.iter().filter(|(m, p)| policy(m, p).is_none()).collect();
    assert!(missing.is_empty(), "routes without a policy: {missing:?}");
    let declared: BTreeSet<(String, String)> =
        ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    let in_template: BTreeSet<(String, String)> = routes.iter().cloned().collect();
    let extra: Vec<_> = declared.difference(&in_template).collect();
    assert!(extra.is_empty(), "policies for routes the template does not have: {extra:?}");
}

#[tokio::test]
async fn tenant_a_cannot_reach_tenant_b_through_any_route() {
    let walk = Walk::new().await;
    let mut unknown = Vec::new();
    for (method, path) in template_routes() {
        let Some(case) = Box::pin(walk.case(&method, &path)).await else {
            unknown.push(format!("{method} {path}"));
            continue;
        };
        let ids = walk.b_ids().await;
        match case {
            Case::Public { probe } => {
                let reply = walk.send(&probe, &walk.a_admin.token).await;
                assert!(reply.status.as_u16() < 500, "{method} {path}: {} {}", reply.status, reply.body);
                let text = reply.body.to_string();
                let leaked: Vec<_> = ids.iter().filter(|id| text.contains(id.as_str())).collect();
                assert!(leaked.is_empty(), "{method} {path} names B's {leaked:?}");
            }
            Case::Guarded { attack, control, controller } => {
                // Ids the request itself carried may be echoed ("not found: session <id>").
                let asked = format!("{} {}", attack.path, attack.body.clone().unwrap_or_default());
                for attacker in ["A's admin", "A's API key"] {
                    let before = walk.b_state().await;
                    let reply = if attacker == "A's admin" {
                        walk.send(&attack, &walk.a_admin.token).await
                    } else {
                        walk.send_with_key(&attack).await
                    };
                    let status = reply.status.as_u16();
                    assert!(
                        status == 403 || status == 404,
                        "{method} {path}: {attacker} got {status} {}",
                        reply.body
                    );
                    let text = reply.body.to_string();
                    let leaked: Vec<_> = ids
                        .iter()
                        .filter(|id| text.contains(id.as_str()) && !asked.contains(id.as_str()))
                        .collect();
                    assert!(leaked.is_empty(), "{method} {path}: {attacker}'s answer names B's {leaked:?}");
                    assert_eq!(walk.b_state().await, before, "{method} {path}: {attacker} changed B's data");
                }
                // A's own view of a list (no header) names nothing of B either.
                if method == "GET" && !path.contains('{') {
                    let own = walk.w.call("GET", &path, Some(&walk.a_admin.token), None).await;
                    let text = own.body.to_string();
                    let leaked: Vec<_> = ids.iter().filter(|id| text.contains(id.as_str())).collect();
                    assert!(leaked.is_empty(), "{method} {path}: A's own list names B's {leaked:?}");
                }
                let ok = walk.send(&control, &controller.token).await;
                assert!(ok.status.is_success(), "{method} {path}: the control got {} {}", ok.status, ok.body);
                walk.restore().await;
            }
        }
    }
    assert!(unknown.is_empty(), "routes the isolation walker has no case for: {unknown:?}");
    // A's own lists never carried B: checked above per route; and B's admin sees B's users.
}

#[tokio::test]
async fn read_only_roles_are_refused_every_mutating_route() {
    let walk = Walk::new().await;
    let read_only: Vec<&str> = ROLES.iter().filter(|r| r.read_only).map(|r| r.code).collect();
    assert_eq!(read_only.len(), 4);
    let mut checked = BTreeSet::new();
    let mut refusals = 0;
    let mut self_service = Vec::new();
    for (method, path) in template_routes() {
        let route = policy(&method, &path).expect("declared");
        if !route.mutates() {
            continue;
        }
        match route.access {
            Access::Public => continue,
            // Acting on one's own session (sign out, switch, revoke a device) is allowed to anyone.
            Access::Session => {
                self_service.push(format!("{method} {path}"));
                continue;
            }
            Access::Permission(_) => {}
        }
        for code in &read_only {
            let Some(Case::Guarded { control, controller, .. }) = Box::pin(walk.case(&method, &path)).await
            else {
                panic!("{method} {path}: no guarded case");
            };
            // The read-only principal sits where the controller does (B, or the platform tenant).
            let reader = walk.w.person(controller.tenant, &[code]).await;
            let refused = walk.send(&control, &reader.token).await;
            assert_eq!(refused.status.as_u16(), 403, "{code} on {method} {path}: {}", refused.body);
            refusals += 1;
            let ok = walk.send(&control, &controller.token).await;
            assert!(ok.status.is_success(), "control for {method} {path}: {} {}", ok.status, ok.body);
            walk.restore().await;
        }
        checked.insert(format!("{method} {path}"));
    }
    // Exactly every mutating route the policy table guards with a permission, each refused to
    // every read-only role.
    let guarded: BTreeSet<String> = ROUTES
        .iter()
        .filter(|r| r.mutates() && matches!(r.access, Access::Permission(_)))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(checked, guarded);
    assert_eq!(refusals, guarded.len() * read_only.len());
    assert_eq!(
        self_service,
        vec![
            "DELETE /api/v1/auth/sessions/{id}",
            "POST /api/v1/auth/logout",
            "POST /api/v1/auth/mfa/confirm",
            "POST /api/v1/auth/mfa/disable",
            "POST /api/v1/auth/mfa/setup",
            "POST /api/v1/auth/switch-tenant"
        ]
    );
}
