//! `scripts/bench payments [N] [DELAY_MS]`: the payment orchestrator's overhead per charge, beside
//! the direct client call of payments 1/3 in the same run (release, real Postgres with fsync on,
//! moto for DynamoDB, the provider sandboxes answering after DELAY_MS, default 150 — a realistic
//! gateway).
//!
//! - **direct**: `Nmi::execute(sale)` on the customer's vault credential, nothing else.
//! - **charge**: `POST /api/v1/payments/charge` through the real router (guard, idempotency claim
//!   and finish, order and payment-method reads, breaker read and record, the attempt written
//!   ahead, the call, the outcome, history, audit and outbox), N orders, one at a time.
//! - **emulator time** (reported apart): the DynamoDB round trips a charge makes against moto —
//!   breaker read (GetItem), breaker record (UpdateItem), idempotency claim (PutItem) and finish
//!   (UpdateItem), each measured alone N times.

mod common;

use std::time::Instant;

use anyhow::{Context, Result, bail};
use gateway::payments::{Gateway, Money, Nmi, Operation, Outcome, PaymentSource, Request};
use gateway::platform::breaker::{self, Breakers};
use gateway::platform::idempotency::{self, Scope};
use gateway_functions::local::demo;
use secrecy::SecretString;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

async fn control(url: &str, path: &str, body: serde_json::Value) -> Result<serde_json::Value> {
    let r = reqwest::Client::new().post(format!("{url}{path}")).json(&body).send().await?;
    if !r.status().is_success() {
        bail!("sandbox control {path}: {}", r.status());
    }
    Ok(r.json().await?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let delay: u64 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(150);
    let env = gateway::Env::from_process();
    let control_url =
        env.get("SANDBOX_CONTROL_URL").context("SANDBOX_CONTROL_URL: run through scripts/bench")?.to_owned();
    let nmi_url = env.get("SANDBOX_NMI_URL").context("SANDBOX_NMI_URL")?.to_owned();
    let (state, router, admin) = common::stack().await?;
    let (_, users) = demo::seed(&admin).await?;
    let stack_name = env.get("STACK_NAME").unwrap_or("bench").to_owned();
    demo::seed_payments(&state, &admin, &env, &stack_name).await?.context("the sandboxes' accounts")?;
    let apex = users.iter().find(|u| u.email == "admin@apex-regen.example").context("the Apex admin")?;
    common::lift_limits(&admin, apex.tenant_id).await?;
    let creds = serde_json::json!({ "email": apex.email, "password": apex.password });
    let (_, login) = common::call(&router, "POST", "/api/v1/auth/login", None, Some(creds)).await?;
    let token = login["access_token"].as_str().context("a token")?.to_owned();

    // The customer's card, stored at both gateways.
    let mut tokens = serde_json::Map::new();
    for provider in ["nmi", "authorize_net"] {
        let t = control(
            &control_url,
            "/_control/tokens",
            serde_json::json!({"provider": provider, "last4": "1111", "brand": "visa", "exp": "12/30"}),
        )
        .await?;
        tokens.insert(provider.into(), t["token"].clone());
    }
    let method_body = serde_json::json!({"customer_email": "bench@example.com", "tokens": tokens, "last4": "1111",
        "exp_month": 12, "exp_year": 2030, "billing": {"postal_code": "40202"}});
    let (status, method) =
        common::call(&router, "POST", "/api/v1/payment-methods", Some(&token), Some(method_body)).await?;
    if status != 201 {
        bail!("payment method: {status} {method}");
    }
    let method_id = method["id"].as_str().context("a method id")?.to_owned();
    let vault: serde_json::Value = admin
        .conn()
        .await?
        .query_one(
            "SELECT credentials FROM payment_methods WHERE id = $1",
            &[&method_id.parse::<uuid::Uuid>()?],
        )
        .await?
        .get(0);
    let vault_id = vault
        .as_array()
        .and_then(|c| c.iter().find(|c| c["gateway"] == "nmi"))
        .and_then(|c| c["customer_vault_id"].as_str())
        .context("an NMI vault id")?
        .to_owned();

    // N + warm-up orders to charge, made before anything is timed.
    let order_body = serde_json::json!({"currency": "USD", "customer": {"email": "bench@example.com"},
        "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
        "lines": [{"sku": "APX-GLOW-5", "quantity": 1}], "payment": {"source": "terms"}});
    let warm = 20;
    let mut orders = Vec::with_capacity(n + warm);
    for _ in 0..n + warm {
        let (status, o) =
            common::call(&router, "POST", "/api/v1/orders", Some(&token), Some(order_body.clone())).await?;
        if status != 201 {
            bail!("order: {status} {o}");
        }
        orders.push(o["id"].as_str().context("an order id")?.to_owned());
    }

    // The gateway answers after `delay` ms from here on.
    control(
        &control_url,
        "/_control/faults",
        serde_json::json!({"provider": "nmi", "kind": "delay", "delay_ms": delay}),
    )
    .await?;

    // Direct: the client alone, on the same credential and sandbox.
    let endpoint = gateway::payments::endpoint(&state, &nmi_url);
    let nmi = Nmi::new(
        &endpoint,
        gateway::platform::outbound::Policy::Local,
        SecretString::from("sandbox-nmi-security-key".to_owned()),
    )
    .map_err(anyhow::Error::msg)?;
    let mut direct = Vec::with_capacity(n);
    for i in 0..n + warm {
        let source = PaymentSource::NmiVault { customer_vault_id: vault_id.clone() };
        let request = Request {
            reference: format!("d{}", &uuid::Uuid::new_v4().simple().to_string()[..19]),
            operation: Operation::Sale {
                source,
                amount: Money::new(1000 + i as i64, "USD")?,
                billing: Default::default(),
            },
        };
        let t = Instant::now();
        let out = nmi.execute(&request).await;
        let took = ms(t);
        if !matches!(out, Outcome::Approved(_)) {
            bail!("direct sale: {out:?}");
        }
        if i >= warm {
            direct.push(took);
        }
    }

    // Orchestrated: the route, end to end.
    let mut charge = Vec::with_capacity(n);
    for (i, order) in orders.iter().enumerate() {
        let body = serde_json::json!({"order_id": order, "payment_method_id": method_id}).to_string();
        let req = http::Request::builder()
            .method("POST")
            .uri("/api/v1/payments/charge")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .body(axum::body::Body::from(body))?;
        let t = Instant::now();
        let res = tower::ServiceExt::oneshot(router.clone(), req).await?;
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
        let took = ms(t);
        if status != 201 {
            bail!("charge: {status} {}", String::from_utf8_lossy(&bytes));
        }
        if i >= warm {
            charge.push(took);
        }
    }

    // Emulator time: the DynamoDB round trips of one charge, each alone.
    let breakers = Breakers::of(&state).await?;
    let key = "nmi#bench";
    let (mut read, mut record, mut claim, mut finish) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let tenant = gateway::platform::tenant::TenantId::from_uuid(apex.tenant_id);
    for i in 0..n + warm {
        let now = state.clock().now();
        let t = Instant::now();
        let permit = breakers.permit(key, now).await?;
        let r = ms(t);
        let t = Instant::now();
        breakers.record(key, permit, breaker::Result::Success, now).await?;
        let w = ms(t);
        let k = uuid::Uuid::now_v7().to_string();
        let t = Instant::now();
        idempotency::claim(&state, Scope("bench"), tenant, &k, "fp")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let c = ms(t);
        let t = Instant::now();
        idempotency::finish(&state, Scope("bench"), tenant, &k, 201, &serde_json::json!({}))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let f = ms(t);
        if i >= warm {
            read.push(r);
            record.push(w);
            claim.push(c);
            finish.push(f);
        }
    }
    let emulator: Vec<f64> = (0..n).map(|i| read[i] + record[i] + claim[i] + finish[i]).collect();

    let (d50, d99, c50, c99) = (
        common::percentile(&direct, 0.5),
        common::percentile(&direct, 0.99),
        common::percentile(&charge, 0.5),
        common::percentile(&charge, 0.99),
    );
    let (e50, e99) = (common::percentile(&emulator, 0.5), common::percentile(&emulator, 0.99));
    println!("payments: {n} charges, the NMI sandbox answering after {delay} ms");
    println!("  direct client call (Nmi::execute sale):   p50 {d50:.1} ms, p99 {d99:.1} ms");
    println!("  POST /api/v1/payments/charge:             p50 {c50:.1} ms, p99 {c99:.1} ms");
    println!("  orchestrator overhead (charge - direct):  p50 {:.1} ms, p99 {:.1} ms", c50 - d50, c99 - d99);
    println!(
        "  charge / direct:                          p50 {:.2}x, p99 {:.2}x (target <= 1.5x)",
        c50 / d50,
        c99 / d99
    );
    println!(
        "  breaker-state read (GetItem, moto):       p50 {:.2} ms, p99 {:.2} ms",
        common::percentile(&read, 0.5),
        common::percentile(&read, 0.99)
    );
    println!(
        "  emulator time per charge, apart (breaker read + record, key claim + finish): p50 {e50:.1} ms, p99 {e99:.1} ms"
    );
    println!(
        "    breaker record {:.2} ms, key claim {:.2} ms, key finish {:.2} ms (p50 each)",
        common::percentile(&record, 0.5),
        common::percentile(&claim, 0.5),
        common::percentile(&finish, 0.5)
    );
    println!("  overhead without the emulator's time:     p50 {:.1} ms", c50 - d50 - e50);
    Ok(())
}
