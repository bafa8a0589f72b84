//! `scripts/bench auth`: what authentication costs, in process through the same router the local
//! runner serves (release build, real Postgres, moto):
//! - login latency (argon2id verification, lockout lookup, session start, token signing);
//! - the guard on every protected request: ES256 verification through the cached key ring, the
//!   per-request session check (one indexed query in a transaction) that makes revocation
//!   immediate, and the tenant's rate limit (two DynamoDB calls; here to moto) — measured as
//!   `GET /api/v1/roles`, which does nothing else;
//! - the revocation window: a request right after logout.
//!
//! Needs DATABASE_URL / DATABASE_OPS_URL / DATABASE_ADMIN_URL, AWS_ENDPOINT_URL and a provisioned,
//! migrated stack (scripts/bench does this).

mod common;

use std::time::Instant;

use anyhow::{Context, Result, bail};
use common::{call, stats};
use gateway_functions::local::demo;

#[tokio::main]
async fn main() -> Result<()> {
    let logins: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let requests: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let (state, router, admin) = common::stack().await?;
    let (_, users) = demo::seed(&admin).await?;
    let user = users.iter().find(|u| u.roles == ["TENANT_USER"]).context("a demo tenant user")?;
    // The guard is measured with its rate limiter working, not refusing: lift the tenant's limit.
    common::lift_limits(&admin, user.tenant_id).await?;

    let mut login_ms = Vec::new();
    let mut token = String::new();
    for i in 0..logins {
        // Round-robin over the demo people: login is limited to 10 a minute per email.
        let who = &users[i % users.len()];
        let creds = serde_json::json!({ "email": who.email, "password": who.password });
        let t = Instant::now();
        let (status, body) = call(&router, "POST", "/api/v1/auth/login", None, Some(creds)).await?;
        login_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if status != 200 {
            bail!("login answered {status}: {body}");
        }
        if who.email == user.email {
            token = body["access_token"].as_str().unwrap_or_default().to_owned();
        }
    }
    let keys = gateway::identity::keys::of(&state).await;
    let t = Instant::now();
    for _ in 0..requests {
        keys.verify(&token).await?;
    }
    let verify_us = t.elapsed().as_secs_f64() * 1e6 / requests as f64;
    let mut guarded_us = Vec::new();
    for _ in 0..requests {
        let t = Instant::now();
        let (status, _) = call(&router, "GET", "/api/v1/roles", Some(&token), None).await?;
        guarded_us.push(t.elapsed().as_secs_f64() * 1e6);
        if status != 200 {
            bail!("GET /api/v1/roles answered {status}");
        }
    }
    // The limiter alone (its DynamoDB round trip), to split the guard's cost.
    let mut limiter_us = Vec::new();
    let generous = gateway::platform::rate_limit::Limit::per_minute(1_000_000);
    for _ in 0..requests.min(500) {
        let t = Instant::now();
        gateway::platform::rate_limit::enforce(
            &state,
            "bench",
            generous,
            gateway::platform::rate_limit::WhenDown::Closed,
        )
        .await?;
        limiter_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mut public_us = Vec::new();
    for _ in 0..requests {
        let t = Instant::now();
        call(&router, "GET", "/api/v1/health", None, None).await?;
        public_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (status, _) = call(&router, "POST", "/api/v1/auth/logout", Some(&token), None).await?;
    let (after, _) = call(&router, "GET", "/api/v1/roles", Some(&token), None).await?;

    let (l50, l95) = stats(login_ms);
    let (g50, g95) = stats(guarded_us);
    let (p50, _) = stats(public_us);
    let (r50, _) = stats(limiter_us);
    println!(
        "login (argon2id m=19MiB t=2 p=1):        median {l50:.1} ms, p95 {l95:.1} ms ({logins} logins)"
    );
    println!("access-token verification (cached ring): mean {verify_us:.1} µs ({requests} tokens)");
    println!("guarded request GET /api/v1/roles:       median {g50:.0} µs, p95 {g95:.0} µs");
    println!("unguarded request GET /api/v1/health:    median {p50:.0} µs");
    println!("rate limiter alone (DynamoDB here: moto): median {r50:.0} µs");
    println!("=> guard cost (verify + session check + rate limit): ~{:.0} µs per request", g50 - p50);
    println!("   of which verify + session check: ~{:.0} µs", g50 - p50 - r50);
    println!("revocation: logout {status}, the same token right after: {after} (no window)");
    Ok(())
}
