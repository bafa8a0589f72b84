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
}

impl Walk {
    async fn new() -> Self {
        let w = World::new().await;
        // B is a marketplace vendor, so it also owns products the platform has not approved.
        let (a, b) = (w.tenant().await, w.tenant_of("vendor").await);
        // The walk sets up many objects per route: no rate limit may get in its way.
        for t in [a, b, w.platform] {
            for class in ["read", "write"] {
                w.setting(t, &format!("rate_limit.{class}_per_minute"), json!(100_000)).await;
            }
        }
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
            .call(
                "POST",
                "/api/v1/api-keys",
                Some(&a_admin.token),
                Some(json!({"name": "attacker", "permissions": perms})),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
        let a_key = made.body["key"].as_str().unwrap().to_owned();
        Self { w, b, a_admin, a_key }
    }

    async fn b_admin(&self) -> Person {
        self.w.person(self.b, &["TENANT_ADMIN"]).await
    }

    async fn staff(&self) -> Person {
        self.w.person(self.w.platform, &["SUPER_ADMIN"]).await
    }

    /// `body` POSTed to `path` by B's admin (it must succeed); the answer.
    async fn b_made(&self, path: &str, body: Value) -> Value {
        let r = self.w.call("POST", path, Some(&self.b_admin().await.token), Some(body)).await;
        assert!(r.status.is_success(), "{path}: {} {}", r.status, r.body);
        r.body
    }

    /// A fresh approved platform product's SKU (every case gets its own: controls repeat).
    async fn fresh_sku(&self) -> String {
        let sku = format!("W-{}", &Uuid::now_v7().simple().to_string()[16..]);
        let body = json!({"sku": sku, "name": format!("Walker {sku}"), "weight_grams": 10,
                          "dimensions_mm": {"length": 1, "width": 1, "height": 1}});
        let r = self
            .w
            .call("POST", "/api/v1/catalog/products", Some(&self.staff().await.token), Some(body))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
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
        let r = self
            .w
            .call(
                "PUT",
                &path,
                Some(&self.b_admin().await.token),
                Some(json!({"breaks": [{"min_quantity": 1, "unit_price": 1000}]})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        tenant_sku
    }

    /// An order for B: `sku` a B SKU (priced, or unknown to hold the order).
    fn b_order(sku: &str) -> Value {
        json!({"currency": "USD", "customer": {"email": "b@example.com"},
               "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
               "lines": [{"sku": sku, "quantity": 1}], "payment": {"source": "terms"}})
    }

    /// A B order held for an unknown SKU; its id and its exception's id.
    async fn b_held_order(&self) -> (String, String) {
        let made = self.b_made("/api/v1/orders", Self::b_order("NOT-MAPPED-ANYWHERE")).await;
        let id = made["id"].as_str().unwrap().to_owned();
        let r = self
            .w
            .call("GET", &format!("/api/v1/orders/{id}"), Some(&self.b_admin().await.token), None)
            .await;
        (id, r.body["exceptions"][0]["id"].as_str().unwrap().to_owned())
    }

    fn b_cart(tenant_sku: &str, code: &str) -> Value {
        json!({"codes": [code], "currency": "USD", "lines": [{"sku": tenant_sku, "quantity": 1, "unit_price": 1000}]})
    }

    /// The case for `method path`, or `None` if the walker does not know the route.
    async fn case(&self, method: &str, path: &str) -> Option<Case> {
        let b = self.b;
        let acting_b = |mut r: Req| {
            r.headers.push(("x-tenant-id", b.to_string()));
            r
        };
        let guarded =
            |attack: Req, control: Req, controller: Person| Case::Guarded { attack, control, controller };
        Some(match (method, path) {
            ("GET", "/api/v1/health") | ("GET", "/api/v1/health/ready") | ("GET", "/api/v1/openapi.json") => {
                Case::Public { probe: req("GET", path, None) }
            }
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
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
                        json!({ "email": format!("{}@example.com", Uuid::now_v7().simple()), "roles": ["TENANT_USER"] }),
                    ),
                );
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("GET", "/api/v1/users") | ("GET", "/api/v1/audit-log") => {
                let r = req("GET", path, None);
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("GET", "/api/v1/settings") => {
                let r = req("GET", path, None);
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("PUT", "/api/v1/settings/{key}") => {
                let r =
                    req("PUT", "/api/v1/settings/rate_limit.write_per_minute", Some(json!({ "value": 500 })));
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("GET", "/api/v1/sso/providers") => {
                let r = req("GET", path, None);
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("POST", "/api/v1/auth/mfa/setup") => {
                let r = req("POST", path, None);
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
                guarded(acting_b(r.clone()), r, owner)
            }
            ("POST", "/api/v1/api-keys") => {
                let r = req("POST", path, Some(json!({ "name": "walker", "permissions": ["users:read"] })));
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("GET", "/api/v1/api-keys") => {
                let r = req("GET", path, None);
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("POST", "/api/v1/api-keys/{id}/rotate") | ("DELETE", "/api/v1/api-keys/{id}") => {
                let owner = self.b_admin().await;
                let made = self
                    .w
                    .call(
                        "POST",
                        "/api/v1/api-keys",
                        Some(&owner.token),
                        Some(json!({"name": "b key", "permissions": ["users:read"]})),
                    )
                    .await;
                assert_eq!(made.status, 201, "{}", made.body);
                let p = path.replace("{id}", made.body["id"].as_str().unwrap());
                let r =
                    if method == "DELETE" { req("DELETE", p, None) } else { req("POST", p, Some(json!({}))) };
                guarded(r.clone(), r, owner)
            }
            _ => {
                if let Some(case) = Box::pin(self.catalog_case(method, path)).await {
                    return Some(case);
                }
                return Box::pin(self.orders_case(method, path)).await;
            }
        })
    }

    /// The catalog's routes (split from [`Self::case`] to keep each future's frame small).
    async fn catalog_case(&self, method: &str, path: &str) -> Option<Case> {
        let b = self.b;
        let acting_b = |mut r: Req| {
            r.headers.push(("x-tenant-id", b.to_string()));
            r
        };
        let guarded =
            |attack: Req, control: Req, controller: Person| Case::Guarded { attack, control, controller };
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
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("GET", "/api/v1/mappings/skus/suggestions") => {
                let r = req("GET", "/api/v1/mappings/skus/suggestions?sku=WB-1", None);
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("POST", "/api/v1/catalog/categories") => {
                let slug = format!("walk-{}", &Uuid::now_v7().simple().to_string()[20..]);
                let r = req("POST", path, Some(json!({"slug": slug, "name": "Walker"})));
                guarded(r.clone(), r, self.staff().await)
            }
            ("PATCH", "/api/v1/catalog/categories/{id}") => {
                let slug = format!("walk-{}", &Uuid::now_v7().simple().to_string()[20..]);
                let staff = self.staff().await;
                let made = self
                    .w
                    .call(
                        "POST",
                        "/api/v1/catalog/categories",
                        Some(&staff.token),
                        Some(json!({"slug": slug, "name": "W"})),
                    )
                    .await;
                let r = req(
                    "PATCH",
                    path.replace("{id}", made.body["id"].as_str().unwrap()),
                    Some(json!({"name": "Renamed"})),
                );
                guarded(r.clone(), r, staff)
            }
            ("POST", "/api/v1/catalog/products") => {
                let sku = format!("WB-{}", &Uuid::now_v7().simple().to_string()[16..]);
                let body = json!({"sku": sku, "name": "B's", "weight_grams": 10,
                                  "dimensions_mm": {"length": 1, "width": 1, "height": 1}});
                let r = req("POST", path, Some(body));
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("POST", "/api/v1/mappings/skus/bulk") => {
                let sku = self.fresh_sku().await;
                let r = req(
                    "POST",
                    path,
                    Some(json!({"mappings": [{"identifier": format!("B-{sku}"), "platform_sku": sku}]})),
                );
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("POST", "/api/v1/mappings/skus/resolve") => {
                let r = req("POST", path, Some(json!({"items": [{"sku": "B-1"}]})));
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
                    let put =
                        self.w.call("PUT", &p, Some(&self.b_admin().await.token), Some(breaks.clone())).await;
                    assert_eq!(put.status, 200, "{}", put.body);
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
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("POST", "/api/v1/promotions") => {
                let code = format!("W{}", &Uuid::now_v7().simple().to_string()[20..]);
                let r = req(
                    "POST",
                    path,
                    Some(json!({"code": code, "discount_type": "percentage", "percent_bp": 500})),
                );
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            _ => return None,
        })
    }

    /// The orders' routes.
    async fn orders_case(&self, method: &str, path: &str) -> Option<Case> {
        let b = self.b;
        let acting_b = |mut r: Req| {
            r.headers.push(("x-tenant-id", b.to_string()));
            r
        };
        let guarded =
            |attack: Req, control: Req, controller: Person| Case::Guarded { attack, control, controller };
        Some(match (method, path) {
            // Orders.
            ("POST", "/api/v1/orders") | ("POST", "/api/v1/orders/validate") => {
                let sku = self.b_priced().await;
                let r = req("POST", path, Some(Self::b_order(&sku)));
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("GET", "/api/v1/orders")
            | ("GET", "/api/v1/approvals")
            | ("GET", "/api/v1/admin/exceptions")
            | ("GET", "/api/v1/channels") => {
                let r = req("GET", path, None);
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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
            ("POST", "/api/v1/admin/exceptions/{id}/resolve") => {
                let (_, exception) = self.b_held_order().await;
                let r = req("POST", path.replace("{id}", &exception), Some(json!({"resolution": "handled"})));
                guarded(r.clone(), r, self.b_admin().await)
            }
            ("POST", "/api/v1/approvals") => {
                let sku = format!("WG-{}", &Uuid::now_v7().simple().to_string()[16..]);
                let body = json!({"sku": sku, "name": "gated", "weight_grams": 10, "approval_gated": true,
                                  "dimensions_mm": {"length": 1, "width": 1, "height": 1}});
                let made = self
                    .w
                    .call("POST", "/api/v1/catalog/products", Some(&self.staff().await.token), Some(body))
                    .await;
                assert_eq!(made.status, 201, "{}", made.body);
                let expires = chrono::Utc::now() + chrono::Duration::days(30);
                let r = req(
                    "POST",
                    path,
                    Some(
                        json!({"customer_email": "b@example.com", "platform_sku": sku, "expires_at": expires}),
                    ),
                );
                guarded(acting_b(r.clone()), r, self.b_admin().await)
            }
            ("POST", "/api/v1/channels") => {
                let code = format!("c{}", &Uuid::now_v7().simple().to_string()[20..]);
                let r = req("POST", path, Some(json!({"code": code, "kind": "custom", "name": "walker"})));
                guarded(acting_b(r.clone()), r, self.b_admin().await)
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

    /// Every row of tenant B, as text: what "no change" compares.
    async fn b_state(&self) -> String {
        self.w
            .db
            .admin()
            .await
            .query_one(
                "SELECT concat_ws('|',
                    (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM tenants t WHERE id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM tenant_settings x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM tenant_users x WHERE tenant_id = $1),
                    (SELECT string_agg(u::text, ',' ORDER BY u.id) FROM users u
                       WHERE EXISTS (SELECT 1 FROM tenant_users m WHERE m.user_id = u.id AND m.tenant_id = $1)),
                    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM role_grants x WHERE tenant_id = $1),
                    (SELECT string_agg(concat(id, revoked_at), ',' ORDER BY id) FROM sessions WHERE tenant_id = $1),
                    (SELECT string_agg(concat(id, used_at), ',' ORDER BY id) FROM refresh_tokens WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM invitations x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM audit_log x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM outbox x WHERE tenant_id = $1),
                    (SELECT string_agg(concat(id, revoked_at, grace_until), ',' ORDER BY id) FROM api_keys WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM products x WHERE owner_tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM catalog_items x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM sku_mappings x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM price_lists x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM price_list_prices x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM promotions x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM promotion_redemptions x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM channels x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM orders x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM order_lines x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM order_status_history x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM customer_approvals x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM exception_records x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM channel_deliveries x WHERE tenant_id = $1),
                    (SELECT string_agg(x::text, ',' ORDER BY x.id) FROM field_mapping_profiles x WHERE tenant_id = $1))",
                &[&self.b.as_uuid()],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Ids of B that must never show up in A's answers.
    async fn b_ids(&self) -> BTreeSet<String> {
        let admin = self.w.db.admin().await;
        let mut ids: BTreeSet<String> = [self.b.to_string()].into();
        for sql in [
            "SELECT user_id FROM tenant_users WHERE tenant_id = $1",
            "SELECT id FROM sessions WHERE tenant_id = $1",
            "SELECT id FROM invitations WHERE tenant_id = $1",
            "SELECT id FROM audit_log WHERE tenant_id = $1",
            "SELECT id FROM api_keys WHERE tenant_id = $1",
            // B's approved products are for sale to everyone; the others are B's alone.
            "SELECT id FROM products WHERE owner_tenant_id = $1 AND review_status <> 'approved'",
            "SELECT id FROM catalog_items WHERE tenant_id = $1",
            "SELECT id FROM sku_mappings WHERE tenant_id = $1",
            "SELECT id FROM price_lists WHERE tenant_id = $1",
            "SELECT id FROM promotions WHERE tenant_id = $1",
            "SELECT id FROM promotion_redemptions WHERE tenant_id = $1",
            "SELECT id FROM channels WHERE tenant_id = $1",
            "SELECT id FROM orders WHERE tenant_id = $1",
            "SELECT id FROM customer_approvals WHERE tenant_id = $1",
            "SELECT id FROM exception_records WHERE tenant_id = $1",
        ] {
            for r in admin.query(sql, &[&self.b.as_uuid()]).await.unwrap() {
                ids.insert(r.get::<_, Uuid>(0).to_string());
            }
        }
        ids
    }
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
    let mut checked = Vec::new();
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
            let ok = walk.send(&control, &controller.token).await;
            assert!(ok.status.is_success(), "control for {method} {path}: {} {}", ok.status, ok.body);
            walk.restore().await;
        }
        checked.push(format!("{method} {path}"));
    }
    assert!(checked.len() >= 8, "{checked:?}");
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
