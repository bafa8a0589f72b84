//! `scripts/bench catalog`: the SKU engine's costs, in process through the router the local runner
//! serves (release build, real Postgres with fsync on, moto), as the demo tenant Apex:
//! - bulk import of N mappings (default 10,000) as CSV: all new rows; the same file again (every
//!   row unchanged); the same file with one bad row, all or nothing (refused) and partial;
//! - resolving 1,000 identifiers in one request; suggestions for a typo'd SKU; a quote.
//!
//! Each import runs RUNS times (default 5) on fresh identifiers; medians are reported.
//! Needs the environment scripts/bench sets up.

mod common;

use std::time::Instant;

use anyhow::{Context, Result, bail};
use common::{call, call_raw, stats};
use gateway_functions::local::demo;

const TARGETS: &[&str] = &["RT-EXO-5ML", "RT-EXO-10ML", "RT-PRP-KIT", "RT-SAMPLE-SACHET", "RT-APPL-TIPS"];

fn csv(run: usize, rows: usize, bad_row: Option<usize>) -> String {
    let mut out = String::from("kind,identifier,channel,platform_sku,note\n");
    for i in 1..=rows {
        let target = if Some(i) == bad_row { "NO-SUCH-SKU" } else { TARGETS[i % TARGETS.len()] };
        out.push_str(&format!("sku,B{run}-{i:06},shopify,{target},bench row {i}\n"));
    }
    out
}

#[tokio::main]
async fn main() -> Result<()> {
    let rows: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let (_state, router, admin) = common::stack().await?;
    let (_, users) = demo::seed(&admin).await?;
    let apex = users.iter().find(|u| u.email == "admin@apex-regen.example").context("the Apex admin")?;
    common::lift_limits(&admin, apex.tenant_id).await?;
    let creds = serde_json::json!({ "email": apex.email, "password": apex.password });
    let (_, login) = call(&router, "POST", "/api/v1/auth/login", None, Some(creds)).await?;
    let token = login["access_token"].as_str().context("a token")?.to_owned();
    let bulk = "/api/v1/mappings/skus/bulk";
    let timed = |path: String, body: String| {
        let (router, token) = (router.clone(), token.clone());
        async move {
            let t = Instant::now();
            let (status, report) =
                call_raw(&router, "POST", &path, Some(&token), Some(("text/csv", body))).await?;
            anyhow::Ok((t.elapsed().as_secs_f64() * 1e3, status, report))
        }
    };
    let (mut fresh, mut again, mut refused, mut partial) = (vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        let file = csv(run, rows, None);
        let (ms, status, report) = timed(bulk.into(), file.clone()).await?;
        if status != 200 || report["created"] != rows {
            bail!("import answered {status}: {report}");
        }
        fresh.push(ms);
        let (ms, _, report) = timed(bulk.into(), file).await?;
        if report["unchanged"] != rows {
            bail!("re-import: {report}");
        }
        again.push(ms);
        let bad = csv(runs + run, rows, Some(rows / 2));
        let (ms, status, _) = timed(bulk.into(), bad.clone()).await?;
        if status != 422 {
            bail!("a bad row must refuse the file, got {status}");
        }
        refused.push(ms);
        let (ms, _, report) = timed(format!("{bulk}?mode=partial"), bad).await?;
        if report["created"] != rows - 1 {
            bail!("partial: {report}");
        }
        partial.push(ms);
    }
    let items: Vec<serde_json::Value> = (1..=1000)
        .map(|i| serde_json::json!({"channel": "shopify", "sku": if i % 10 == 0 { format!("UNKNOWN-{i}") } else { format!("B0-{i:06}") }}))
        .collect();
    let mut resolve = vec![];
    let mut suggest = vec![];
    let mut quote = vec![];
    for _ in 0..20 {
        let t = Instant::now();
        let (status, r) = call(
            &router,
            "POST",
            "/api/v1/mappings/skus/resolve",
            Some(&token),
            Some(serde_json::json!({"items": items})),
        )
        .await?;
        resolve.push(t.elapsed().as_secs_f64() * 1e3);
        if status != 200 || r["resolved"] != 900 {
            bail!("resolve answered {status}: {}", r["resolved"]);
        }
        let t = Instant::now();
        let (_, s) =
            call(&router, "GET", "/api/v1/mappings/skus/suggestions?sku=RT-EXO-5M", Some(&token), None)
                .await?;
        suggest.push(t.elapsed().as_secs_f64() * 1e3);
        if s[0]["platform_sku"] != "RT-EXO-5ML" {
            bail!("suggestions: {s}");
        }
        let t = Instant::now();
        let body = serde_json::json!({"lines": [{"sku": "APX-GLOW-5", "quantity": 12}, {"sku": "APX-PRP", "quantity": 1}], "promotion_codes": ["WELCOME10"], "customer_email": "bench@example.com"});
        let (status, _) = call(&router, "POST", "/api/v1/pricing/quote", Some(&token), Some(body)).await?;
        quote.push(t.elapsed().as_secs_f64() * 1e3);
        if status != 200 {
            bail!("quote answered {status}");
        }
    }
    let m = |v: Vec<f64>| stats(v).0;
    println!("bulk import, {rows} new rows (CSV):           median {:.0} ms ({runs} runs)", m(fresh));
    println!("bulk import, the same {rows} rows again:      median {:.0} ms (all unchanged)", m(again));
    println!(
        "bulk import, one bad row, all or nothing:     median {:.0} ms (refused, row named)",
        m(refused)
    );
    println!(
        "bulk import, one bad row, mode=partial:       median {:.0} ms ({} applied)",
        m(partial),
        rows - 1
    );
    println!("resolve 1000 identifiers in one request:      median {:.1} ms", m(resolve));
    println!(
        "suggestions for a typo'd SKU:                 median {:.1} ms (over {} mappings)",
        m(suggest),
        runs * (2 * rows - 1)
    );
    println!("quote, 2 lines and a promotion code:          median {:.1} ms", m(quote));
    Ok(())
}
