//! `scripts/bench pipeline [N]`: the whole order pipeline, as a client sees it. N orders (default
//! 600) paid by one-time NMI tokens are posted at concurrency 16 (closed loop: each worker posts
//! its next order once its last one is reserved) to a real local runner — a second process, its
//! HTTP API and its queue consumers on the emulator's real queues (order.accepted →
//! payment-authorize → order.payment_authorized → inventory-reserve) — and each is followed to
//! `inventory_reserved` (release build, Postgres with fsync on, the NMI sandbox).
//!
//! Reported: orders/s; p50/p99 from the POST to the `inventory_reserved` row of the order's history
//! (written by the runner: no polling delay in the figure); errors (a refused POST, or an order not
//! reserved within 60 s); CPU-seconds per order of the runner, Postgres (the postmaster and every
//! backend, exited ones included) and the AWS emulator, read from /proc; SQL statements per order
//! from `pg_stat_statements` (the gateway's roles only: the benchmark's own watcher runs as the
//! schema owner and is left out), with the most frequent statements — where the time goes.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use gateway_functions::local::demo;
use tokio::io::AsyncBufReadExt;
use uuid::Uuid;

const CONCURRENCY: usize = 16;
const WARM: usize = 32;
const SKU: &str = "RT-EXO-5ML";
const LOU: Uuid = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000901);

/// CPU seconds (user + system) a process and its live children used, plus what its exited
/// children used (reaped: counted in its own `cutime`/`cstime`).
fn cpu_of_tree(root: u32) -> f64 {
    let tick = 100.0; // CLK_TCK on Linux
    let stat = |pid: u32| -> Option<(u32, [f64; 4])> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &s[s.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
        Some((n(1) as u32, [n(11), n(12), n(13), n(14)]))
    };
    let mut total = 0.0;
    let mut parents = vec![root];
    let all: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let stats: HashMap<u32, (u32, [f64; 4])> = all.iter().filter_map(|p| Some((*p, stat(*p)?))).collect();
    if let Some((_, t)) = stats.get(&root) {
        total += t[0] + t[1] + t[2] + t[3];
    }
    while let Some(p) = parents.pop() {
        for (pid, (ppid, t)) in &stats {
            if *ppid == p {
                total += t[0] + t[1];
                parents.push(*pid);
            }
        }
    }
    total / tick
}

fn pid_from(path: &str) -> Result<u32> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    text.lines().next().and_then(|l| l.trim().parse().ok()).with_context(|| format!("a pid in {path}"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(600);
    let env = gateway::Env::from_process();
    let control = env.get("SANDBOX_CONTROL_URL").context("SANDBOX_CONTROL_URL: run through scripts/bench")?;
    let runner_bin = env.get("RUNNER_BIN").context("RUNNER_BIN")?.to_owned();
    let pg_pid = pid_from(&format!("{}/pg/data/postmaster.pid", env.get("BENCH_DIR").context("BENCH_DIR")?))?;
    let moto_pid = pid_from(&format!("{}/moto.pid", env.get("BENCH_DIR").context("BENCH_DIR")?))?;

    // Set-up: the demo tenants, the sandboxes' merchant accounts, plenty of stock.
    let (state, router, admin) = common::stack().await?;
    let (_, users) = demo::seed(&admin).await?;
    let stack_name = env.get("STACK_NAME").unwrap_or("bench").to_owned();
    demo::seed_payments(&state, &admin, &env, &stack_name).await?.context("the sandboxes' accounts")?;
    demo::seed_inventory(&state, &admin).await?;
    let ops = state.ops_db().await?;
    gateway::inventory::record_history(&state, ops, LOU, SKU, &[], 1_000_000_000).await?;
    let apex = users.iter().find(|u| u.email == "admin@apex-regen.example").context("the Apex admin")?;
    common::lift_limits(&admin, apex.tenant_id).await?;
    let creds = serde_json::json!({ "email": apex.email, "password": apex.password });
    let (_, login) = common::call(&router, "POST", "/api/v1/auth/login", None, Some(creds)).await?;
    let token = login["access_token"].as_str().context("a token")?.to_owned();
    let http = reqwest::Client::new();
    let mut tokens = Vec::with_capacity(n + WARM);
    for _ in 0..n + WARM {
        let r = http
            .post(format!("{control}/_control/tokens"))
            .json(&serde_json::json!({"provider": "nmi", "last4": "1111", "brand": "visa", "exp": "12/30"}))
            .send()
            .await?
            .json::<serde_json::Value>()
            .await?;
        tokens.push(r["token"].as_str().context("a sandbox token")?.to_owned());
    }

    // The runner: its HTTP API and its queue consumers, in a process of its own.
    let mut runner = tokio::process::Command::new(&runner_bin)
        .arg("serve")
        .env("PORT", "0")
        .env("SEED", "0")
        .env("LOCAL_SCHEDULES", "off")
        .env("DB_POOL_SIZE", "24")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the local runner")?;
    let runner_pid = runner.id().context("the runner's pid")?;
    let mut lines = tokio::io::BufReader::new(runner.stdout.take().context("its stdout")?).lines();
    let api = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("local runner listening on ") {
                return Ok::<_, anyhow::Error>(url.to_owned());
            }
        }
        bail!("the runner ended before it listened")
    })
    .await
    .context("the runner did not listen within 60 s")??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    // The watcher: every order's `inventory_reserved` time, as its history says.
    let reserved: Arc<Mutex<HashMap<Uuid, DateTime<Utc>>>> = Arc::default();
    let watcher = {
        let reserved = reserved.clone();
        let conn = admin.conn().await?;
        tokio::spawn(async move {
            let since = Utc::now() - chrono::Duration::minutes(1);
            loop {
                if let Ok(rows) = conn
                    .query(
                        "SELECT order_id, at FROM order_status_history WHERE to_status = 'inventory_reserved' AND at > $1",
                        &[&since],
                    )
                    .await
                {
                    let mut map = reserved.lock().unwrap_or_else(|e| e.into_inner());
                    for r in rows {
                        map.insert(r.get(0), r.get(1));
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let body = |token: &str| {
        serde_json::json!({"currency": "USD", "customer": {"email": "bench@example.com"},
            "shipping_address": {"line1": "1 Main St", "city": "Louisville", "state": "KY", "postal_code": "40202", "country": "US"},
            "lines": [{"sku": "APX-GLOW-5", "quantity": 1}], "payment": {"source": "token", "token": token}})
    };
    // One order, posted and followed: its latency (ms) or what went wrong.
    let one = |card: String| {
        let (http, api, token, reserved) = (http.clone(), api.clone(), token.clone(), reserved.clone());
        let body = body(&card);
        async move {
            let posted = Utc::now();
            let r = http.post(format!("{api}/api/v1/orders")).bearer_auth(&token).json(&body).send().await?;
            let status = r.status().as_u16();
            let made: serde_json::Value = r.json().await.unwrap_or_default();
            if status != 201 {
                bail!("POST /api/v1/orders answered {status}: {made}");
            }
            let id: Uuid = made["id"].as_str().context("an order id")?.parse()?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let seen = reserved.lock().unwrap_or_else(|e| e.into_inner()).get(&id).copied();
                if let Some(at) = seen {
                    return Ok::<f64, anyhow::Error>(
                        (at - posted).num_microseconds().unwrap_or(0) as f64 / 1e3,
                    );
                }
                if Instant::now() > deadline {
                    bail!("order {id} not reserved within 60 s");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let run = |cards: Vec<String>| {
        futures::stream::iter(cards).map(one).buffer_unordered(CONCURRENCY).collect::<Vec<Result<f64>>>()
    };

    // Warm-up (connections, caches), then the measured run.
    let warm: Vec<String> = tokens.drain(..WARM).collect();
    for r in run(warm).await {
        r.context("warm-up")?;
    }
    let db = admin.conn().await?;
    db.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()")
        .await
        .context("pg_stat_statements (shared_preload_libraries, set by scripts/bench)")?;
    let cpu = || (cpu_of_tree(runner_pid), cpu_of_tree(pg_pid), cpu_of_tree(moto_pid));
    let before = cpu();
    let started = Instant::now();
    let results = run(tokens).await;
    let elapsed = started.elapsed().as_secs_f64();
    let after = cpu();
    watcher.abort();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(ms) => latencies.push(ms),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let statements: i64 = db
        .query_one(
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
              WHERE r.rolname IN ('gateway_app', 'gateway_ops', 'gateway_identity')",
            &[],
        )
        .await?
        .get(0);
    let top = db
        .query(
            "SELECT s.calls, s.total_exec_time, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 110)
               FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
              WHERE r.rolname IN ('gateway_app', 'gateway_ops', 'gateway_identity')
              ORDER BY s.calls DESC LIMIT 12",
            &[],
        )
        .await?;
    let per = |v: f64| v / n as f64;
    println!(
        "pipeline: {n} token orders posted at concurrency {CONCURRENCY}, followed to inventory_reserved through the runner's queues"
    );
    println!("throughput: {:.1} orders/s ({elapsed:.1} s)", n as f64 / elapsed);
    if !latencies.is_empty() {
        println!(
            "POST -> inventory_reserved: p50 {:.0} ms, p99 {:.0} ms",
            common::percentile(&latencies, 0.5),
            common::percentile(&latencies, 0.99)
        );
    }
    println!("errors: {}", errors.len());
    for e in errors.iter().take(5) {
        println!("  {e}");
    }
    let (gw, pg, moto) = (per(after.0 - before.0), per(after.1 - before.1), per(after.2 - before.2));
    println!("CPU-seconds per order: gateway {gw:.4}, Postgres {pg:.4}, AWS emulator {moto:.4}");
    println!(
        "gateway + Postgres: {:.4} CPU-s per order (Medusa v2.13.6: 1.28; target at most 1/20: 0.064)",
        gw + pg
    );
    println!("SQL statements per order: {:.1} (Medusa: ~430; target at most 60)", per(statements as f64));
    println!("most frequent statements (calls per order, mean ms):");
    for r in top {
        let calls: i64 = r.get(0);
        let total: f64 = r.get(1);
        let q: String = r.get(2);
        println!("  {:5.2}  {:6.3}  {q}", per(calls as f64), total / calls.max(1) as f64);
    }
    runner.kill().await.ok();
    if !errors.is_empty() {
        bail!("{} orders failed", errors.len());
    }
    Ok(())
}
