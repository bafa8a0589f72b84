//! `scripts/bench inventory`: a reservation storm on one hot SKU through the reservation service
//! (`inventory::reserve_order`, the `inventory-reserve` step's transaction: request to commit, no
//! HTTP, no emulator), at concurrency 64, in process (release, real Postgres with fsync on).
//!
//! The events the step records go out after commit (the relay's job here: the storm runs with no
//! event bus), so the figure is the transaction alone, as pgbench's is.
//!
//! N orders of the demo tenant Apex (2 × APX-GLOW-5 = RT-EXO-5ML each, shipping to KY) are placed
//! through the real router and moved to `payment_authorized` (set-up, not measured); the SKU has
//! N units at Louisville (LOU-1) and 12 at the Phoenix 3PL, for 2N wanted: the storm must reserve
//! exactly N + 12 and backorder the rest. Then the level gets a billion units for the pgbench
//! replay of the same transaction that `scripts/bench` runs next (scripts/bench.d/inventory.sql).

mod common;

use std::time::Instant;

use anyhow::{Context, Result, bail};
use common::stats;
use futures::StreamExt;
use gateway::orders::OrderStatus;
use gateway::platform::db::scoped_tx;
use gateway::platform::tenant::TenantId;
use gateway_functions::local::demo;
use uuid::Uuid;

const CONCURRENCY: usize = 64;
const SKU: &str = "RT-EXO-5ML";
const LOU: Uuid = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000901);

#[tokio::main]
async fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3000);
    let (state, router, admin) = common::stack().await?;
    let (_, users) = demo::seed(&admin).await?;
    demo::seed_inventory(&state, &admin).await?;
    let apex = users.iter().find(|u| u.email == "admin@apex-regen.example").context("the Apex admin")?;
    let tenant = TenantId::from_uuid(apex.tenant_id);
    common::lift_limits(&admin, apex.tenant_id).await?;
    let creds = serde_json::json!({ "email": apex.email, "password": apex.password });
    let (_, login) = common::call(&router, "POST", "/api/v1/auth/login", None, Some(creds)).await?;
    let token = login["access_token"].as_str().context("a token")?.to_owned();

    // Set-up: N paid orders.
    let body = serde_json::json!({
        "currency": "USD", "customer": {"email": "bench@example.com"},
        "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
        "lines": [{"sku": "APX-GLOW-5", "quantity": 2}], "payment": {"source": "terms"}
    });
    let placed: Vec<Result<Uuid>> = futures::stream::iter(0..n)
        .map(|_| {
            let (router, token, body) = (router.clone(), token.clone(), body.clone());
            async move {
                let (status, made) =
                    common::call(&router, "POST", "/api/v1/orders", Some(&token), Some(body)).await?;
                if status != 201 {
                    bail!("POST /api/v1/orders answered {status}: {made}");
                }
                Ok(made["id"].as_str().context("an order id")?.parse()?)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let orders = placed.into_iter().collect::<Result<Vec<_>>>()?;
    let ops = state.ops_db().await?;
    {
        let mut conn = ops.conn().await?;
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        for id in &orders {
            gateway::orders::advance(
                &tx,
                &state,
                tenant,
                *id,
                OrderStatus::Accepted,
                OrderStatus::PaymentAuthorized,
                "bench",
                state.clock().now(),
            )
            .await?;
        }
        tx.commit().await?;
    }
    // N units at Louisville (the demo has 40 there), 12 at the 3PL: N + 12 for 2N wanted.
    gateway::inventory::record_history(&state, ops, LOU, SKU, &[], n as i64 - 40).await?;

    // The storm: request to commit. Without an event bus the step's events stay in the outbox for
    // the relay (as when EventBridge is slow): no emulator call is timed.
    let state = gateway::AppState::from_env(
        &common::env()?.overlay(&gateway::Env::from_map([("EVENT_BUS_NAME", "")])),
    )?;
    let started = Instant::now();
    let results: Vec<Result<f64>> = futures::stream::iter(orders.iter().copied())
        .map(|id| {
            let state = state.clone();
            async move {
                let t = Instant::now();
                let ops = state.ops_db().await?;
                gateway::inventory::reserve_order(&state, ops, tenant, id)
                    .await?
                    .context("the order was not waiting for stock")?;
                Ok(t.elapsed().as_secs_f64() * 1e3)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let latencies = results.into_iter().collect::<Result<Vec<_>>>()?;
    let tps = n as f64 / elapsed;
    let (p50, _) = stats(latencies.clone());

    // Exactly the stock there is: reserved, nothing below zero, the ledger equal to the levels.
    let conn = admin.conn().await?;
    let row = conn
        .query_one(
            "SELECT sum(reserved)::bigint, sum(backordered)::bigint, min(on_hand - reserved - committed)::bigint
               FROM stock_levels WHERE platform_sku = $1",
            &[&SKU],
        )
        .await?;
    let (reserved, backordered, least): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let supply = n as i64 + 12;
    let mismatches = gateway::inventory::ledger_mismatches(ops).await?;
    println!(
        "reservation storm: {tps:.0} orders/s, p50 {p50:.1} ms, p99 {:.1} ms ({n} orders of 2 units, concurrency {CONCURRENCY})",
        common::percentile(&latencies, 0.99)
    );
    println!(
        "stock: {supply} units, {} wanted: {reserved} reserved, {backordered} backordered, least available {least}, ledger mismatches {}",
        2 * n,
        mismatches.len()
    );
    if reserved != supply || backordered != 2 * n as i64 - supply || least < 0 || !mismatches.is_empty() {
        bail!(
            "OVERSOLD or lost units: reserved {reserved} of {supply}, backordered {backordered}, least {least}"
        );
    }
    println!("zero oversell");
    // Room for pgbench's replay (it reserves 2 units per transaction, on the same level).
    gateway::inventory::record_history(&state, ops, LOU, SKU, &[], 1_000_000_000).await?;
    println!("RESERVE_TPS={tps:.1}");
    println!("ORDERS={n}");
    Ok(())
}
