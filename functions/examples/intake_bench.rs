//! `scripts/bench intake`: order intake through the real handler stack, in process (release, real
//! Postgres with fsync on, moto): `POST /api/v1/orders` for the demo tenant Apex (a portal order of
//! 2 × APX-GLOW-5 priced by its list), at concurrency 16 — request to committed order and outbox
//! row, guard (token, session check, rate limit) included, the tenant's limits raised. First
//! without an `Idempotency-Key`, then with a fresh key per request (the DynamoDB record, here moto).
//! `scripts/bench` then replays the same SQL transaction with pgbench for comparison.

mod common;

use std::time::Instant;

use anyhow::{Context, Result, bail};
use common::stats;
use futures::StreamExt;
use gateway_functions::local::demo;

const CONCURRENCY: usize = 16;

async fn run(router: &axum::Router, token: &str, n: usize, with_key: bool) -> Result<(f64, Vec<f64>)> {
    let body = serde_json::json!({
        "currency": "USD", "customer": {"email": "bench@example.com"},
        "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
        "lines": [{"sku": "APX-GLOW-5", "quantity": 2}], "payment": {"source": "terms"}
    })
    .to_string();
    let started = Instant::now();
    let results: Vec<Result<f64>> = futures::stream::iter(0..n)
        .map(|_| {
            let (router, token, body) = (router.clone(), token.to_owned(), body.clone());
            async move {
                use tower::ServiceExt;
                let mut req = http::Request::builder()
                    .method("POST")
                    .uri("/api/v1/orders")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json");
                if with_key {
                    req = req.header("idempotency-key", uuid::Uuid::now_v7().to_string());
                }
                let t = Instant::now();
                let res = router.oneshot(req.body(axum::body::Body::from(body))?).await?;
                let status = res.status().as_u16();
                let _ = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
                if status != 201 {
                    bail!("POST /api/v1/orders answered {status}");
                }
                Ok(t.elapsed().as_secs_f64() * 1e3)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let latencies = results.into_iter().collect::<Result<Vec<_>>>()?;
    Ok((n as f64 / elapsed, latencies))
}

#[tokio::main]
async fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let (_state, router, admin) = common::stack().await?;
    let (_, users) = demo::seed(&admin).await?;
    let apex = users.iter().find(|u| u.email == "admin@apex-regen.example").context("the Apex admin")?;
    common::lift_limits(&admin, apex.tenant_id).await?;
    let creds = serde_json::json!({ "email": apex.email, "password": apex.password });
    let (_, login) = common::call(&router, "POST", "/api/v1/auth/login", None, Some(creds)).await?;
    let token = login["access_token"].as_str().context("a token")?.to_owned();
    run(&router, &token, 100, false).await?; // warm the pools and caches
    let (tps, lat) = run(&router, &token, n, false).await?;
    let (p50, _) = stats(lat.clone());
    println!(
        "intake, no Idempotency-Key:   {tps:.0} orders/s, p50 {p50:.1} ms, p99 {:.1} ms ({n} orders, concurrency {CONCURRENCY})",
        common::percentile(&lat, 0.99)
    );
    let (tps_k, lat_k) = run(&router, &token, n, true).await?;
    let (p50_k, _) = stats(lat_k.clone());
    println!(
        "intake, with Idempotency-Key: {tps_k:.0} orders/s, p50 {p50_k:.1} ms, p99 {:.1} ms",
        common::percentile(&lat_k, 0.99)
    );
    println!("INTAKE_TPS={tps:.1}");
    Ok(())
}
