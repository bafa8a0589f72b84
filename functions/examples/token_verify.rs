//! `scripts/bench tokens`: the cost of verifying one ES256 access token (the per-request work
//! every authenticated route will do), and of issuing one.

use std::time::Instant;

use gateway::identity::tokens::{AccessClaims, KeyRing, generate_private_key, ring_json};
use gateway::platform::tenant::TenantId;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let key = generate_private_key()?;
    let ring = KeyRing::from_json(&ring_json("k1", &[("k1", &key)]))?;
    let now = chrono::Utc::now();
    let claims = AccessClaims::new(
        uuid::Uuid::now_v7(),
        TenantId::new(),
        vec!["TENANT_ADMIN".into()],
        uuid::Uuid::now_v7(),
        now,
    );
    let started = Instant::now();
    let mut token = String::new();
    for _ in 0..n / 10 {
        token = ring.issue(&claims)?;
    }
    let issue_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(n / 10);
    let started = Instant::now();
    for _ in 0..n {
        ring.verify(&token, now)?;
    }
    let verify_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!(
        "ES256 access token: verify {verify_us:.1} µs, issue {issue_us:.1} µs (mean of {n} / {} runs)",
        n / 10
    );
    Ok(())
}
