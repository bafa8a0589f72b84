//! What the benchmarks share: a stack from the environment `scripts/bench` sets up, requests
//! through the router the local runner serves, and percentiles.

#![allow(dead_code)] // each benchmark uses part of it

use anyhow::Result;
use axum::body::Body;
use gateway::platform::config::DbRole;
use gateway::platform::db::Db;
use gateway::{AppState, Env};
use gateway_functions::local::{self, LocalStack};
use http::Request;
use tower::ServiceExt;

/// The environment the local runner gives every function of the stack scripts/bench set up.
pub fn env() -> Result<Env> {
    let process = Env::from_process();
    let template = local::template::Template::load(&local::repo_root().join("template.yaml"))?;
    let stack = LocalStack::from_env(template, &process);
    stack.env(&process)
}

/// The benchmark's state, router and schema-owner pool (migrated and provisioned by scripts/bench).
pub async fn stack() -> Result<(AppState, axum::Router, Db)> {
    let state = AppState::from_env(&env()?)?;
    let admin = state.connect_db(DbRole::Admin).await?;
    let router = local::router(&state).await?;
    Ok((state, router, admin))
}

/// The `q` quantile (0 to 1) of `v`.
pub fn percentile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

/// The median and the 95th percentile.
pub fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.95))
}

/// One request with a JSON body (or none).
pub async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> Result<(u16, serde_json::Value)> {
    let body = body.map(|b| ("application/json", b.to_string()));
    call_raw(router, method, path, token, body).await
}

/// One request with a body of the given content type.
pub async fn call_raw(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, String)>,
) -> Result<(u16, serde_json::Value)> {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some((content_type, b)) => req.header("content-type", content_type).body(Body::from(b))?,
        None => req.body(Body::empty())?,
    };
    let res = router.clone().oneshot(req).await?;
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or_default()))
}

/// Lifts a tenant's rate limits: a benchmark measures the work, not the limiter refusing it.
pub async fn lift_limits(admin: &Db, tenant: uuid::Uuid) -> Result<()> {
    for key in ["rate_limit.read_per_minute", "rate_limit.write_per_minute"] {
        admin
            .conn()
            .await?
            .execute(
                "INSERT INTO tenant_settings (tenant_id, key, value) VALUES ($1, $2, '1000000')
                 ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value",
                &[&tenant, &key],
            )
            .await?;
    }
    Ok(())
}
