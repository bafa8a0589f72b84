//! The payment orchestrator against the provider sandboxes: failover only when the first gateway
//! certainly did not charge, unknown outcomes left pending, the breaker every instance shares, no
//! customer charged twice. Every claim about money is read from the sandbox's own books: the
//! customer's net charge is what the providers' ledgers hold for the customer's vault credentials.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::payments::{configured, method_body, secret};
use crate::sandboxes::Sandboxes;
use crate::support::unique;
use crate::world::{Person, World};

/// Small thresholds and short timeouts, so a test opens a breaker in a few calls.
pub fn settings() -> Vec<(&'static str, String)> {
    vec![
        ("BREAKER_MINIMUM_CALLS", "3".into()),
        ("BREAKER_FAILURE_RATE_PERCENT", "50".into()),
        ("BREAKER_WAIT_SECONDS", "30".into()),
        ("PAYMENTS_TIMEOUT_MS", "3000".into()),
        ("PAYMENTS_CONNECT_TIMEOUT_MS", "500".into()),
    ]
}

/// A tenant selling one priced product (10.00 USD), with its admin and platform finance staff.
pub struct Shop {
    pub w: World,
    pub s: Sandboxes,
    pub tenant: gateway::platform::tenant::TenantId,
    pub admin: Person,
    pub finance: Person,
    sku: String,
}

impl Shop {
    pub async fn open() -> Self {
        Self::open_with(&[]).await
    }

    pub async fn open_with(extra: &[(&str, String)]) -> Self {
        let mut env = settings();
        env.extend(extra.iter().cloned());
        let w = World::new_with(&env).await;
        let s = configured(&w).await;
        let tenant = w.tenant().await;
        w.unlimited(&[tenant, w.platform]).await;
        let admin = w.person(tenant, &["TENANT_ADMIN"]).await;
        let finance = w.person(w.platform, &["FINANCE_ADMIN"]).await;
        let staff = w.person(w.platform, &["SUPER_ADMIN"]).await;
        let sku = format!("PAY-{}", unique());
        w.product(&staff, &sku, "Charged", json!({})).await;
        let tenant_sku = format!("T-{sku}");
        w.post("/api/v1/catalog/items", json!({"platform_sku": sku, "tenant_sku": tenant_sku}))
            .by(&admin)
            .expect(201)
            .await;
        let list = w
            .post("/api/v1/pricing/price-lists", json!({"name": "Retail", "currency": "USD"}))
            .by(&admin)
            .expect(201)
            .await;
        let path = format!("/api/v1/pricing/price-lists/{}/prices/{sku}", list["id"].as_str().unwrap());
        w.put(path, json!({"breaks": [{"min_quantity": 1, "unit_price": 1000}]}))
            .by(&admin)
            .expect(200)
            .await;
        Self { w, s, tenant, admin, finance, sku: tenant_sku }
    }

    /// The platform SKU the tenant sells.
    pub fn platform_sku(&self) -> &str {
        self.sku.strip_prefix("T-").unwrap()
    }

    /// An accepted order of `quantity` units (10.00 USD each); its id.
    pub async fn order(&self, quantity: u32) -> String {
        let made = self.place(quantity, None, json!({"source": "terms"})).await;
        made["id"].as_str().unwrap().to_owned()
    }

    /// An order of `quantity` units at the list price (10.00 USD) or at `unit_price`, paid by
    /// `payment`, placed by the tenant's admin (201); the order as answered.
    pub async fn place(&self, quantity: u32, unit_price: Option<i64>, payment: Value) -> Value {
        let mut line = json!({"sku": self.sku, "quantity": quantity});
        if let Some(p) = unit_price {
            line["unit_price"] = p.into();
        }
        let body = json!({"currency": "USD", "customer": {"email": "jane@example.com"},
            "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
            "lines": [line], "payment": payment});
        self.w.post("/api/v1/orders", body).by(&self.admin).expect(201).await
    }

    /// A stored payment method (at both gateways when `both`); its id and the vault credentials
    /// that name the customer's card in the providers' books.
    pub async fn method(&self, both: bool) -> (String, Vec<String>) {
        let made = self
            .w
            .post("/api/v1/payment-methods", method_body(&self.s, both).await)
            .by(&self.admin)
            .expect(201)
            .await;
        let id = made["id"].as_str().unwrap().to_owned();
        let row = self
            .w
            .db
            .admin()
            .await
            .query_one(
                "SELECT credentials FROM payment_methods WHERE id = $1",
                &[&id.parse::<uuid::Uuid>().unwrap()],
            )
            .await
            .unwrap();
        let credentials: Value = row.get(0);
        let ids = credentials
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| {
                ["customer_vault_id", "payment_profile_id"].map(|k| c[k].as_str().map(str::to_owned))
            })
            .flatten()
            .collect();
        (id, ids)
    }

    pub fn charge_body(order: &str, method: &str) -> Value {
        json!({"order_id": order, "payment_method_id": method})
    }

    /// `POST /api/v1/payments/charge` by the tenant's admin with `key`.
    pub fn charge<'a>(&'a self, body: Value, key: &str) -> crate::world::Call<'a> {
        self.w.post("/api/v1/payments/charge", body).by(&self.admin).header("idempotency-key", key.to_owned())
    }

    /// A payment operation by platform finance staff acting for the tenant.
    pub fn operate<'a>(&'a self, path: String, body: Value) -> crate::world::Call<'a> {
        self.w
            .post(path, body)
            .by(&self.finance)
            .header("x-tenant-id", self.tenant.to_string())
            .header("idempotency-key", unique())
    }

    /// The tenant's admin cancels the order.
    pub async fn cancel(&self, order: &str) {
        self.w
            .patch(
                format!("/api/v1/orders/{order}"),
                json!({"action": "cancel", "reason": "customer changed their mind"}),
            )
            .by(&self.admin)
            .expect(200)
            .await;
    }

    pub async fn payment(&self, id: &str) -> Value {
        self.w.get(format!("/api/v1/payments/{id}")).by(&self.admin).expect(200).await
    }

    /// The reconciliation view, as platform finance staff see it.
    pub async fn reconciliation(&self) -> Value {
        self.w.get("/api/v1/admin/reconciliation").by(&self.finance).expect(200).await
    }
}

/// The customer's transactions at both providers (their card: any of `credentials`), from the
/// sandbox's books.
pub async fn customer_books(s: &Sandboxes, credentials: &[String]) -> Vec<Value> {
    let books = s.books().await;
    books["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            let r = t["payment_ref"].as_str().unwrap_or_default();
            credentials.iter().any(|c| r.contains(c.as_str()))
        })
        .cloned()
        .collect()
}

/// What the customer is charged, per the providers: captured less refunded, plus open holds.
pub async fn net_charge(s: &Sandboxes, credentials: &[String]) -> i64 {
    customer_books(s, credentials)
        .await
        .iter()
        .map(|t| t["net"].as_i64().unwrap() + t["pending_hold"].as_i64().unwrap())
        .sum()
}

async fn calls(s: &Sandboxes, provider: &str) -> i64 {
    s.books().await["calls"][provider].as_i64().unwrap()
}

fn breaker<'v>(view: &'v Value, gateway: &str) -> &'v Value {
    view["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            b["gateway"] == gateway
                && b["merchant_account"].as_str().unwrap().starts_with(if gateway == "nmi" {
                    "NMI"
                } else {
                    "Authorize"
                })
        })
        .unwrap_or_else(|| panic!("no {gateway} breaker in {view}"))
}

/// NMI approves, but its answer never arrives: the payment stays `pending` (202), Authorize.net is
/// never called, and the customer is charged once — by NMI, as its books show.
#[tokio::test]
async fn an_answer_lost_after_nmi_charged_leaves_the_payment_pending_and_never_fails_over() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(true).await;
    let order = shop.order(2).await;
    let authnet_before = calls(&shop.s, "authorize_net").await;
    shop.s.fault("nmi", "drop_after_processing", Some(1), None).await;
    let key = unique();
    let r = shop.charge(Shop::charge_body(&order, &method), &key).send().await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "pending", "{}", r.body);
    assert_eq!(r.body["attempts"].as_array().unwrap().len(), 1, "{}", r.body);
    assert_eq!(r.body["attempts"][0]["status"], "unknown");
    assert_eq!(calls(&shop.s, "authorize_net").await, authnet_before, "no failover on an unknown outcome");
    let books = customer_books(&shop.s, &card).await;
    assert_eq!(books.len(), 1, "{books:?}");
    assert_eq!((books[0]["provider"].as_str(), books[0]["captured"].as_i64()), (Some("nmi"), Some(2000)));
    // The reconciliation view lists the open attempt with its age.
    let view = shop.reconciliation().await;
    let open = view["open_attempts"].as_array().unwrap();
    assert!(
        open.iter().any(|a| a["payment_id"] == r.body["id"] && a["age_seconds"].as_i64().is_some()),
        "{view}"
    );
    // Another key for the same order is refused.
    let other = shop.charge(Shop::charge_body(&order, &method), &unique()).send().await;
    assert_eq!(
        (other.status.as_u16(), other.body["code"].as_str()),
        (409, Some("order_has_live_payment")),
        "{}",
        other.body
    );
    // The timeout reconciler, once the attempt is old enough (the clock moved), finds NMI's charge
    // by its reference and completes the payment: still one charge.
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(reconcile(&shop.w).await["open"], 0, "too young to be asked about");
    assert_eq!(shop.payment(&id).await["status"], "pending");
    shop.w.clock.advance(chrono::Duration::minutes(2));
    let report = reconcile(&shop.w).await;
    assert_eq!(report["completed"], 1, "{report}");
    let p = shop
        .w
        .get(format!("/api/v1/payments/{id}"))
        .by(&shop.w.person(shop.tenant, &["TENANT_ADMIN"]).await)
        .expect(200)
        .await;
    assert_eq!((p["status"].as_str(), p["attempts"].as_array().unwrap().len()), (Some("captured"), 1), "{p}");
    assert_eq!(net_charge(&shop.s, &card).await, 2000);
    // The same key now answers the payment as it is.
    let admin = shop.w.person(shop.tenant, &["TENANT_ADMIN"]).await;
    let again = shop
        .w
        .post("/api/v1/payments/charge", Shop::charge_body(&order, &method))
        .by(&admin)
        .header("idempotency-key", key)
        .send()
        .await;
    assert_eq!(
        (again.status.as_u16(), again.body["status"].as_str()),
        (201, Some("captured")),
        "{}",
        again.body
    );
    assert_eq!(net_charge(&shop.s, &card).await, 2000);
}

/// `payments-reconcile-pending` run at the same moment in two other processes (two instances):
/// how many attempts they settled as `outcome` (`completed`, `voided`, …) together, and their
/// reports.
pub async fn reconcile_in_two_processes(w: &World, env: &[(&str, String)], outcome: &str) -> (i64, String) {
    let (ra, rb) = invoke_in_two_processes(w, env, "payments-reconcile-pending").await;
    (ra[outcome].as_i64().unwrap_or(0) + rb[outcome].as_i64().unwrap_or(0), format!("{ra} {rb}"))
}

/// Runs the task `function` in two runner processes at once (with `env`); their two answers.
pub async fn invoke_in_two_processes(w: &World, env: &[(&str, String)], function: &str) -> (Value, Value) {
    let (a, b) = (w.twin_with(env).await, w.twin_with(env).await);
    let http = crate::support::http_client();
    let run = |api: String| {
        let http = http.clone();
        async move {
            let r = http.post(format!("{api}/_local/functions/{function}/invoke")).send().await.unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    futures::future::join(run(a.api.clone()), run(b.api.clone())).await
}

/// `payments-reconcile-pending` run as its schedule would, in this process.
pub async fn reconcile(w: &World) -> Value {
    (gateway::registry::PAYMENTS_RECONCILE_PENDING.handler)(&w.state, json!({})).await.unwrap()
}

/// NMI charged, its answer was lost, and the order was cancelled meanwhile: the reconciler finds
/// the charge and does not keep it — two reconciler processes at once, the charge returned once.
/// The customer's net charge: zero.
#[tokio::test]
async fn a_lost_answer_for_an_order_cancelled_meanwhile_is_voided_once_by_two_reconcilers() {
    let mut env = settings();
    env.push(("PAYMENTS_RECONCILE_AFTER_SECONDS", "0".into()));
    let shop = Shop::open_with(&env).await;
    let (method, card) = shop.method(true).await;
    let order = shop.order(2).await;
    shop.s.fault("nmi", "drop_after_processing", Some(1), None).await;
    let r = shop.charge(Shop::charge_body(&order, &method), &unique()).send().await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(net_charge(&shop.s, &card).await, 2000, "NMI charged");
    shop.cancel(&order).await;
    let (voided, reports) = reconcile_in_two_processes(&shop.w, &env, "voided").await;
    assert_eq!(voided, 1, "one run voids it, the other finds it taken or done: {reports}");
    assert_eq!(net_charge(&shop.s, &card).await, 0, "{:?}", customer_books(&shop.s, &card).await);
    let p = shop.payment(r.body["id"].as_str().unwrap()).await;
    assert_eq!((p["status"].as_str(), p["refunded"].as_i64()), (Some("refunded"), Some(2000)), "{p}");
    let voids = p["attempts"].as_array().unwrap().iter().filter(|a| a["operation"] == "void").count();
    assert_eq!(voids, 1, "{p}");
}

/// The gateway-facing process dies after the sandbox charged and before the outcome was recorded.
/// A retry with the same key after its lease expired finds the payment and asks NMI; a retry with
/// a new key is refused (the order has a live payment). Exactly one charge either way.
#[tokio::test]
async fn a_process_killed_mid_charge_leaves_one_charge_whatever_the_retry() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(true).await;
    let order = shop.order(3).await;
    let twin = shop.w.twin_with(&settings()).await;
    // NMI charges, then holds its answer for a minute.
    shop.s.fault("nmi", "timeout_after_processing", Some(1), Some(60_000)).await;
    let key = unique();
    let body = Shop::charge_body(&order, &method);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let api = twin.api.clone();
    let token = shop.admin.token.clone();
    let sent = body.clone();
    let k = key.clone();
    tokio::spawn(async move {
        let r = crate::support::http_client()
            .post(format!("{api}/api/v1/payments/charge"))
            .bearer_auth(token)
            .header("idempotency-key", k)
            .json(&sent)
            .send()
            .await;
        let _ = tx.send(r.map(|r| r.status().as_u16()).ok());
    });
    // Kill the process the moment the sandbox's books show the charge.
    let mut charged = false;
    for _ in 0..200 {
        if !customer_books(&shop.s, &card).await.is_empty() {
            charged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(charged, "the sandbox never charged");
    twin.stop().await;
    assert_eq!(rx.await.ok().flatten(), None, "the killed process answered");
    let row = shop
        .w
        .db
        .admin()
        .await
        .query_one("SELECT p.status, a.status FROM payments p JOIN payment_attempts a ON a.payment_id = p.id WHERE p.order_id = $1", &[&order.parse::<uuid::Uuid>().unwrap()])
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, &str>(0), row.get::<_, &str>(1)),
        ("pending", "attempted"),
        "written ahead, never finished"
    );
    shop.s.clear_faults().await;
    // A new key: refused, the order has a live payment.
    let other = shop.charge(body.clone(), &unique()).send().await;
    assert_eq!(
        (other.status.as_u16(), other.body["code"].as_str()),
        (409, Some("order_has_live_payment")),
        "{}",
        other.body
    );
    // The same key once the dead process's lease ran out: NMI is asked, the charge is found.
    shop.w.clock.advance(chrono::Duration::minutes(16));
    let admin = shop.w.person(shop.tenant, &["TENANT_ADMIN"]).await;
    let retry =
        shop.w.post("/api/v1/payments/charge", body).by(&admin).header("idempotency-key", key).send().await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body["status"], "captured", "{}", retry.body);
    assert_eq!(retry.body["attempts"].as_array().unwrap().len(), 1, "never sent again: {}", retry.body);
    assert_eq!(net_charge(&shop.s, &card).await, 3000, "{:?}", customer_books(&shop.s, &card).await);
    assert_eq!(customer_books(&shop.s, &card).await.len(), 1);
}

/// NMI refuses connections: Authorize.net charges once; after the threshold NMI's breaker opens
/// (calls go straight to the backup); after the wait — moved on a clock both processes read —
/// twenty charges from two OS processes, released together, reach NMI exactly once (the probe);
/// NMI has recovered, so the breaker closes and NMI charges again.
#[tokio::test]
async fn the_breaker_opens_on_refused_connections_and_two_processes_send_exactly_one_probe() {
    let shop = Shop::open().await;
    let w = &shop.w;
    let clock_file = std::env::temp_dir().join(format!("clock-{}", unique()));
    gateway::OffsetFileClock::write(&clock_file, chrono::Duration::zero()).unwrap();
    let mut env = settings();
    env.push(("CLOCK_OFFSET_FILE", clock_file.display().to_string()));
    let (a, b) = (w.twin_with(&env).await, w.twin_with(&env).await);
    let (method, card) = shop.method(true).await;
    let mut orders = Vec::new();
    for _ in 0..26 {
        orders.push(shop.order(1).await);
    }
    shop.s.fault("nmi", "refuse", None, None).await;
    let nmi_before = calls(&shop.s, "nmi").await;
    // The first charge fails over: NMI certainly did not charge.
    let first = a.send(shop.charge(Shop::charge_body(&orders[0], &method), &unique())).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["gateway"], "authorize_net", "{}", first.body);
    let attempts = first.body["attempts"].as_array().unwrap();
    assert_eq!(
        (attempts[0]["gateway"].as_str(), attempts[0]["status"].as_str()),
        (Some("nmi"), Some("not_processed"))
    );
    let books = customer_books(&shop.s, &card).await;
    assert_eq!(books.len(), 1, "{books:?}");
    assert_eq!(books[0]["provider"], "authorize_net");
    // Two more failures reach the threshold (3 calls, all failed): open.
    for order in &orders[1..3] {
        let r = b.send(shop.charge(Shop::charge_body(order, &method), &unique())).await;
        assert_eq!(
            (r.status.as_u16(), r.body["gateway"].as_str()),
            (201, Some("authorize_net")),
            "{}",
            r.body
        );
    }
    let view = shop.reconciliation().await;
    assert_eq!(breaker(&view, "nmi")["state"], "open", "{view}");
    // Open: the backup is used without trying NMI.
    let r = a.send(shop.charge(Shop::charge_body(&orders[3], &method), &unique())).await;
    assert_eq!(r.body["attempts"].as_array().unwrap().len(), 1, "NMI skipped while open: {}", r.body);
    assert_eq!(r.body["gateway"], "authorize_net");
    // NMI recovers (and answers slowly, so the probe is still running while every other request
    // reads the breaker); the wait passes on the shared clock.
    shop.s.clear_faults().await;
    shop.s.fault("nmi", "delay", Some(1), Some(2_000)).await;
    gateway::OffsetFileClock::write(&clock_file, chrono::Duration::seconds(31)).unwrap();
    let nmi_mid = calls(&shop.s, "nmi").await;
    assert_eq!(nmi_mid, nmi_before, "no NMI call was ever made while it refused or was open");
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let sends = orders[4..24].iter().enumerate().map(|(i, order)| {
        let barrier = barrier.clone();
        let twin = if i % 2 == 0 { &a } else { &b };
        let call = shop.charge(Shop::charge_body(order, &method), &unique());
        async move {
            barrier.wait().await;
            twin.send(call).await
        }
    });
    let replies = futures::future::join_all(sends).await;
    assert!(
        replies.iter().all(|r| r.status == 201),
        "{:?}",
        replies.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>()
    );
    assert_eq!(calls(&shop.s, "nmi").await - nmi_mid, 1, "exactly one probe reached NMI");
    let at_nmi = replies.iter().filter(|r| r.body["gateway"] == "nmi").count();
    assert_eq!(at_nmi, 1, "the probe charged at NMI, the others at the backup");
    // The probe succeeded: closed, and NMI charges again.
    let view = shop.reconciliation().await;
    assert_eq!(breaker(&view, "nmi")["state"], "closed", "{view}");
    let r = b.send(shop.charge(Shop::charge_body(&orders[24], &method), &unique())).await;
    assert_eq!((r.status.as_u16(), r.body["gateway"].as_str()), (201, Some("nmi")), "{}", r.body);
    // Every charge once: 25 orders of 10.00.
    assert_eq!(net_charge(&shop.s, &card).await, 25 * 1000);
    std::fs::remove_file(&clock_file).ok();
}

/// A bad NMI credential on one account set is the operator's to fix, not an outage: its charges
/// fail over (NMI refused them unprocessed), and neither its breaker nor another set's opens.
#[tokio::test]
async fn a_bad_credential_on_one_account_set_opens_no_breaker() {
    let shop = Shop::open().await;
    let w = &shop.w;
    let (method, card) = shop.method(true).await;
    // The tenant is moved to a set whose NMI account has a wrong key (same sandbox).
    let staff = w.person(w.platform, &["FINANCE_ADMIN"]).await;
    let bad = secret(w, json!({"security_key": "not-the-key"})).await;
    let n = unique();
    let accounts = "/api/v1/admin/payments/merchant-accounts";
    let nmi = w.post(accounts, json!({"gateway": "nmi", "name": format!("Bad NMI {n}"), "base_url": shop.s.nmi, "credentials_secret": bad}))
        .by(&staff).expect(201).await;
    let listed = w.get(accounts).by(&staff).expect(200).await;
    let authnet =
        listed.as_array().unwrap().iter().find(|a| a["gateway"] == "authorize_net").unwrap().clone();
    let set = w
        .post(
            "/api/v1/admin/payments/account-sets",
            json!({"name": format!("Bad {n}"), "descriptor": "REGEN*BAD",
        "primary_gateway": "nmi", "nmi_account_id": nmi["id"], "authorize_net_account_id": authnet["id"]}),
        )
        .by(&staff)
        .expect(201)
        .await;
    w.put(
        format!("/api/v1/admin/tenants/{}/payment-accounts", shop.tenant),
        json!({"account_set_id": set["id"]}),
    )
    .by(&staff)
    .expect(200)
    .await;
    for _ in 0..5 {
        let order = shop.order(1).await;
        let r = shop.charge(Shop::charge_body(&order, &method), &unique()).send().await;
        assert_eq!(
            (r.status.as_u16(), r.body["gateway"].as_str()),
            (201, Some("authorize_net")),
            "{}",
            r.body
        );
        assert_eq!(r.body["attempts"][0]["status"], "not_processed", "{}", r.body);
    }
    assert_eq!(net_charge(&shop.s, &card).await, 5000);
    let view = shop.reconciliation().await;
    let bad_breaker = view["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["merchant_account_id"] == nmi["id"])
        .cloned()
        .unwrap();
    assert_eq!(
        (bad_breaker["state"].as_str(), bad_breaker["failures"].as_i64()),
        (Some("closed"), Some(0)),
        "{view}"
    );
    assert_eq!(breaker(&view, "nmi")["state"], "closed", "{view}");
    // Back on the platform default, the tenant charges at the good NMI account.
    w.put(format!("/api/v1/admin/tenants/{}/payment-accounts", shop.tenant), json!({"account_set_id": null}))
        .by(&staff)
        .expect(200)
        .await;
    let order = shop.order(1).await;
    let r = shop.charge(Shop::charge_body(&order, &method), &unique()).send().await;
    assert_eq!((r.status.as_u16(), r.body["gateway"].as_str()), (201, Some("nmi")), "{}", r.body);
    assert_eq!(net_charge(&shop.s, &card).await, 6000);
}

/// Twenty identical charges with one key, from two OS processes at once: one charge at the
/// sandbox; every answer is that payment, a replay, or "in progress". A second charge for the
/// order with another key is refused.
#[tokio::test]
async fn twenty_identical_charges_from_two_processes_charge_once() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(true).await;
    let order = shop.order(4).await;
    let twin = shop.w.twin_with(&settings()).await;
    let key = unique();
    let body = Shop::charge_body(&order, &method);
    let replies = twin
        .race(
            (0..10).map(|_| shop.charge(body.clone(), &key)),
            (0..10).map(|_| shop.charge(body.clone(), &key)),
        )
        .await;
    let made: Vec<&Value> = replies.iter().filter(|r| r.status == 201).map(|r| &r.body).collect();
    assert!(!made.is_empty(), "{:?}", replies.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>());
    assert!(made.iter().all(|b| b["id"] == made[0]["id"]), "one payment");
    assert!(
        replies
            .iter()
            .all(|r| r.status == 201 || (r.status == 409 && r.body["code"] == "request_in_progress")),
        "{:?}",
        replies.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>()
    );
    assert_eq!(customer_books(&shop.s, &card).await.len(), 1);
    assert_eq!(net_charge(&shop.s, &card).await, 4000);
    let other = shop.charge(body, &unique()).send().await;
    assert_eq!((other.status.as_u16(), other.body["code"].as_str()), (409, Some("order_has_live_payment")));
    assert_eq!(net_charge(&shop.s, &card).await, 4000);
    twin.stop().await;
}

/// A decline is final: 402 with the gateway's code, no failover, nobody charged; the order may
/// then be charged again (a failed payment is not live).
#[tokio::test]
async fn a_decline_is_answered_with_its_code_and_never_fails_over() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(true).await;
    let order = shop.order(1).await;
    let authnet_before = calls(&shop.s, "authorize_net").await;
    // The NMI sandbox declines amounts under 1.00.
    let r = shop
        .charge(json!({"order_id": order, "payment_method_id": method, "amount": 50}), &unique())
        .send()
        .await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (402, Some("payment_declined")), "{}", r.body);
    assert!(r.body["decline_code"].as_str().is_some_and(|c| !c.is_empty()), "{}", r.body);
    assert_eq!(calls(&shop.s, "authorize_net").await, authnet_before);
    assert_eq!(net_charge(&shop.s, &card).await, 0);
    let p = shop.payment(r.body["payment_id"].as_str().unwrap()).await;
    assert_eq!((p["status"].as_str(), p["gateway"].as_str()), (Some("failed"), Some("nmi")), "{p}");
    assert!(!shop.w.outbox("payment.failed").await.is_empty());
    // A card number anywhere in the body is refused and never echoed; nothing is charged.
    let pan = "4111 1111 1111 1111";
    let body = json!({"order_id": order, "payment_method": {"customer_email": "jane@example.com", "tokens": {"nmi": pan},
        "last4": "1111", "exp_month": 12, "exp_year": 2030}});
    let refused = shop.charge(body, &unique()).send().await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.to_string().contains("card_number_refused")
            && !refused.body.to_string().contains("4111 1111"),
        "{}",
        refused.body
    );
    let again = shop.charge(Shop::charge_body(&order, &method), &unique()).send().await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(net_charge(&shop.s, &card).await, 1000);
}

/// Authorize, capture part, and refund the rest once settled; void an authorization before
/// settlement; return a whole unsettled capture (a void); a partial refund before settlement is
/// queued and sent by the settlement trigger. Each step's money is read from the sandbox's books.
#[tokio::test]
async fn capture_void_and_refunds_move_the_money_the_books_show() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(true).await;
    // Authorize 20.00, capture 12.00.
    let order = shop.order(2).await;
    let auth = shop
        .charge(json!({"order_id": order, "payment_method_id": method, "capture": false}), &unique())
        .expect(201)
        .await;
    assert_eq!(auth["status"], "authorized");
    let id = auth["id"].as_str().unwrap();
    assert_eq!(net_charge(&shop.s, &card).await, 2000, "an open hold");
    // The capture's answer is lost: 202, and a retry with the same key asks NMI and answers 200.
    shop.s.fault("nmi", "drop_after_processing", Some(1), None).await;
    let key = unique();
    let capture = |key: &str| {
        shop.w
            .post(format!("/api/v1/payments/{id}/capture"), json!({"amount": 1200}))
            .by(&shop.finance)
            .header("x-tenant-id", shop.tenant.to_string())
            .header("idempotency-key", key.to_owned())
    };
    let lost = capture(&key).send().await;
    assert_eq!(
        (lost.status.as_u16(), lost.body["status"].as_str()),
        (202, Some("authorized")),
        "{}",
        lost.body
    );
    let busy = shop.operate(format!("/api/v1/payments/{id}/capture"), json!({"amount": 100})).send().await;
    assert_eq!(
        (busy.status.as_u16(), busy.body["code"].as_str()),
        (409, Some("payment_busy")),
        "one call at a time: {}",
        busy.body
    );
    let captured = capture(&key).expect(200).await;
    // The key's record is lost (expired, or never finished): the database still knows what the
    // key made, so the retry answers it and captures nothing more.
    let table = shop.w.state.config().idempotency_table().unwrap().to_owned();
    shop.w
        .state
        .dynamodb()
        .await
        .unwrap()
        .delete_item()
        .table_name(table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("payment-capture-idem#{}#{key}", shop.tenant)),
        )
        .send()
        .await
        .unwrap();
    let again = capture(&key).expect(200).await;
    assert_eq!(again["captured"], 1200, "{again}");
    assert_eq!(
        captured["attempts"].as_array().unwrap().iter().filter(|a| a["operation"] == "capture").count(),
        1
    );
    assert_eq!(
        (captured["status"].as_str(), captured["captured"].as_i64()),
        (Some("captured"), Some(1200)),
        "{captured}"
    );
    assert_eq!(net_charge(&shop.s, &card).await, 1200);
    assert!(!shop.w.outbox("payment.captured").await.is_empty());
    // Settled, then refunded in two parts: the second is "the rest".
    shop.s.settle("nmi").await;
    let part = shop
        .operate("/api/v1/payments/refund".into(), json!({"payment_id": id, "amount": 500}))
        .expect(200)
        .await;
    assert_eq!((part["refunded"].as_i64(), part["refundable"].as_i64()), (Some(500), Some(700)), "{part}");
    let over =
        shop.operate("/api/v1/payments/refund".into(), json!({"payment_id": id, "amount": 701})).send().await;
    assert_eq!(over.status, 422, "{}", over.body);
    let rest = shop.operate("/api/v1/payments/refund".into(), json!({"payment_id": id})).expect(200).await;
    assert_eq!(
        (rest["status"].as_str(), rest["refunded"].as_i64(), rest["refundable"].as_i64()),
        (Some("refunded"), Some(1200), Some(0))
    );
    assert_eq!(net_charge(&shop.s, &card).await, 0);

    // Void before settlement.
    let order = shop.order(1).await;
    let auth = shop
        .charge(json!({"order_id": order, "payment_method_id": method, "capture": false}), &unique())
        .expect(201)
        .await;
    let id = auth["id"].as_str().unwrap();
    shop.s.fault("nmi", "drop_after_processing", Some(1), None).await;
    let key = unique();
    let void = |key: &str| {
        shop.w
            .post(format!("/api/v1/payments/{id}/void"), json!({}))
            .by(&shop.finance)
            .header("x-tenant-id", shop.tenant.to_string())
            .header("idempotency-key", key.to_owned())
    };
    let lost = void(&key).send().await;
    assert_eq!(lost.status, 202, "{}", lost.body);
    let voided = void(&key).expect(200).await;
    assert_eq!(voided["status"], "voided");
    assert_eq!(net_charge(&shop.s, &card).await, 0);
    let again = shop.operate(format!("/api/v1/payments/{id}/capture"), json!({})).send().await;
    assert_eq!(
        (again.status.as_u16(), again.body["code"].as_str()),
        (409, Some("invalid_state")),
        "voided is final"
    );

    // A whole unsettled capture returned: voided at the gateway.
    let order = shop.order(1).await;
    let sale = shop.charge(Shop::charge_body(&order, &method), &unique()).expect(201).await;
    let back =
        shop.operate("/api/v1/payments/refund".into(), json!({"payment_id": sale["id"]})).expect(200).await;
    assert_eq!(
        (back["status"].as_str(), back["refunded"].as_i64()),
        (Some("refunded"), Some(1000)),
        "{back}"
    );
    let last = back["attempts"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["operation"], "void");
    assert_eq!(net_charge(&shop.s, &card).await, 0);

    // A partial refund of an unsettled capture waits for settlement.
    let order = shop.order(3).await;
    let sale = shop.charge(Shop::charge_body(&order, &method), &unique()).expect(201).await;
    let id = sale["id"].as_str().unwrap();
    let queued = shop
        .operate("/api/v1/payments/refund".into(), json!({"payment_id": id, "amount": 1000}))
        .send()
        .await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    assert_eq!(
        (queued.body["refund_pending"].as_i64(), queued.body["refundable"].as_i64()),
        (Some(1000), Some(2000))
    );
    let task = |w: &World| {
        let state = w.state.clone();
        async move { (gateway::registry::PAYMENTS_REFUNDS_DUE.handler)(&state, json!({})).await.unwrap() }
    };
    let report = task(&shop.w).await;
    assert_eq!((report["sent"].as_i64(), report["waiting"].as_i64()), (Some(0), Some(1)), "{report}");
    assert_eq!(net_charge(&shop.s, &card).await, 3000, "nothing refunded before settlement");
    shop.s.settle("nmi").await;
    let report = task(&shop.w).await;
    assert_eq!(report["sent"].as_i64(), Some(1), "{report}");
    assert_eq!(net_charge(&shop.s, &card).await, 2000);
    let p = shop.payment(id).await;
    assert_eq!(
        (p["status"].as_str(), p["refunded"].as_i64(), p["refund_pending"].as_i64()),
        (Some("refunded"), Some(1000), Some(0)),
        "{p}"
    );
    // Every step is in the history, and the list filters by status.
    assert!(p["history"].as_array().unwrap().len() >= 3, "{p}");
    let listed = shop.w.get("/api/v1/payments?status=refunded").by(&shop.admin).expect(200).await;
    assert!(listed["items"].as_array().unwrap().iter().all(|i| i["status"] == "refunded"));
    assert!(listed["items"].as_array().unwrap().iter().any(|i| i["id"] == p["id"]));
}

/// The breaker against DynamoDB, on explicit times: below the minimum number of calls it stays
/// closed whatever fails; declines and rejected credentials never count; at the threshold it
/// opens; after the wait one caller wins the probe (a second is refused); a failed probe opens it
/// again for another wait; a successful one closes it with fresh counts; an unused probe given
/// back lets the next caller probe at once.
#[tokio::test]
async fn the_breaker_counts_only_infrastructure_failures_and_a_failed_probe_reopens_it() {
    use gateway::platform::breaker::{Breakers, Permit, Result as Call, Settings, Transition};
    let w = World::new().await;
    let table = w.state.config().circuit_breaker_table().unwrap().to_owned();
    let settings = Settings {
        failure_rate_percent: 50,
        minimum_calls: 4,
        window: chrono::Duration::seconds(60),
        wait: chrono::Duration::seconds(30),
        probe_lease: chrono::Duration::seconds(10),
    };
    let b = Breakers::new(w.state.dynamodb().await.unwrap().clone(), table, settings);
    let key = format!("nmi#{}", unique());
    // The start of a window, so every call below falls in it.
    let t0 = chrono::DateTime::from_timestamp(1_800_000_000 - 1_800_000_000_i64.rem_euclid(60), 0).unwrap();
    let at = |s: i64| t0 + chrono::Duration::seconds(s);
    // Three failures: under the minimum of four calls, still closed.
    for s in 0..3 {
        assert_eq!(b.permit(&key, at(s)).await.unwrap(), Permit::Call);
        assert_eq!(b.record(&key, Permit::Call, Call::Failure, at(s)).await.unwrap(), None);
    }
    // A rejected credential counts neither way.
    assert_eq!(b.record(&key, Permit::Call, Call::Ignored, at(3)).await.unwrap(), None);
    assert_eq!(b.view(&key, at(3)).await.unwrap().calls, 3);
    // Two successes (a decline is one: the gateway answered) make 3 failures of 5 calls; only a
    // failure is judged, and the next one makes 4 of 6 — over 50 % with the minimum met: open.
    for s in 4..6 {
        assert_eq!(b.record(&key, Permit::Call, Call::Success, at(s)).await.unwrap(), None);
    }
    assert_eq!(b.record(&key, Permit::Call, Call::Failure, at(6)).await.unwrap(), Some(Transition::Opened));
    assert!(matches!(b.permit(&key, at(7)).await.unwrap(), Permit::Refused { .. }));
    assert!(matches!(b.permit(&key, at(35)).await.unwrap(), Permit::Refused { .. }), "still waiting");
    // After the wait: one probe, the next caller refused while it runs.
    assert_eq!(b.permit(&key, at(37)).await.unwrap(), Permit::Probe);
    assert!(matches!(b.permit(&key, at(37)).await.unwrap(), Permit::Refused { .. }));
    // The probe fails: open again for a whole wait.
    assert_eq!(
        b.record(&key, Permit::Probe, Call::Failure, at(38)).await.unwrap(),
        Some(Transition::Reopened)
    );
    assert!(matches!(b.permit(&key, at(60)).await.unwrap(), Permit::Refused { .. }));
    // The next probe is taken but never used (its call was not made): given back, the next caller probes.
    assert_eq!(b.permit(&key, at(69)).await.unwrap(), Permit::Probe);
    b.release_probe(&key).await.unwrap();
    assert_eq!(b.permit(&key, at(69)).await.unwrap(), Permit::Probe);
    // It succeeds: closed, with fresh counts.
    assert_eq!(b.record(&key, Permit::Probe, Call::Success, at(70)).await.unwrap(), Some(Transition::Closed));
    let view = b.view(&key, at(71)).await.unwrap();
    assert_eq!((view.state.as_str(), view.calls, view.failures), ("closed", 0, 0), "{view:?}");
    assert_eq!(b.permit(&key, at(71)).await.unwrap(), Permit::Call);
}

/// Two processes charge one order at once, each with its own key: the database lets one payment
/// live; every other request is refused, and the customer is charged once.
#[tokio::test]
async fn one_order_charged_from_two_processes_with_different_keys_is_charged_once() {
    let shop = Shop::open().await;
    let (method, card) = shop.method(true).await;
    let order = shop.order(2).await;
    let twin = shop.w.twin_with(&settings()).await;
    let body = Shop::charge_body(&order, &method);
    let replies = twin
        .race(
            (0..5).map(|_| shop.charge(body.clone(), &unique())),
            (0..5).map(|_| shop.charge(body.clone(), &unique())),
        )
        .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(
        replies
            .iter()
            .all(|r| r.status == 201 || (r.status == 409 && r.body["code"] == "order_has_live_payment")),
        "{:?}",
        replies.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>()
    );
    assert_eq!(customer_books(&shop.s, &card).await.len(), 1);
    assert_eq!(net_charge(&shop.s, &card).await, 2000);
    twin.stop().await;
}
