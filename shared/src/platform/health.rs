//! Health: `GET /api/v1/health` (liveness, version and build) and `GET /api/v1/health/ready`
//! (readiness: Postgres, DynamoDB, SQS and EventBridge each answer, or 503 naming who did not).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::config::{BUILD, BuildInfo};
use super::error::{ApiError, Problem};
use super::state::AppState;

/// How long one dependency may take to answer a readiness probe.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always "ok": the function runs.
    pub status: &'static str,
    pub service: &'static str,
    pub version: &'static str,
    pub build: BuildInfo,
    pub stage: String,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// Liveness and build identity.
#[utoipa::path(get, path = "/api/v1/health", operation_id = "health", tag = "platform",
    responses((status = 200, description = "The function is alive", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        service: "regen-therapy-gateway",
        version: BUILD.version,
        build: BUILD,
        stage: state.config().stage.clone(),
        time: state.clock().now(),
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    /// "ok" or "failed".
    pub status: &'static str,
    pub latency_ms: u64,
    /// A short class of failure (`unreachable`, `timeout`, `not_configured`, `error`); the full
    /// cause goes to the log only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub checks: BTreeMap<&'static str, Check>,
}

async fn probe<F, E>(name: &'static str, fut: F) -> (&'static str, Check)
where
    F: std::future::Future<Output = Result<(), (&'static str, E)>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, fut).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err((class, cause))) => {
            tracing::warn!(dependency = name, class, error = %cause, "readiness check failed");
            Some(class)
        }
        Err(_) => {
            tracing::warn!(dependency = name, "readiness check timed out");
            Some("timeout")
        }
    };
    let status = if error.is_some() { "failed" } else { "ok" };
    (name, Check { status, latency_ms, error })
}

fn aws_err<E: std::error::Error>(e: E) -> (&'static str, String) {
    ("unreachable", aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

fn not_configured(e: super::config::ConfigError) -> (&'static str, String) {
    ("not_configured", e.to_string())
}

async fn check_postgres(state: &AppState) -> Result<(), (&'static str, String)> {
    let db = state.db().await.map_err(|e| ("not_configured", e.to_string()))?;
    let conn = db.conn().await.map_err(|e| ("unreachable", e.to_string()))?;
    conn.query_one("SELECT 1", &[]).await.map_err(|e| ("error", e.to_string()))?;
    Ok(())
}

async fn check_dynamodb(state: &AppState) -> Result<(), (&'static str, String)> {
    let (table, _) = state.config().probe_targets().map_err(not_configured)?;
    state
        .dynamodb()
        .await
        .map_err(not_configured)?
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(aws_err)?;
    Ok(())
}

async fn check_sqs(state: &AppState) -> Result<(), (&'static str, String)> {
    state.sqs().await.map_err(not_configured)?.list_queues().max_results(1).send().await.map_err(aws_err)?;
    Ok(())
}

async fn check_eventbridge(state: &AppState) -> Result<(), (&'static str, String)> {
    let (_, bus) = state.config().probe_targets().map_err(not_configured)?;
    state
        .eventbridge()
        .await
        .map_err(not_configured)?
        .describe_event_bus()
        .name(bus)
        .send()
        .await
        .map_err(aws_err)?;
    Ok(())
}

/// Readiness: every dependency answers.
#[utoipa::path(get, path = "/api/v1/health/ready", operation_id = "health_ready", tag = "platform",
    responses(
        (status = 200, description = "Every dependency answered", body = Readiness),
        (status = 503, description = "At least one dependency failed; `checks` names it",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let results = tokio::join!(
        probe("postgres", check_postgres(&state)),
        probe("dynamodb", check_dynamodb(&state)),
        probe("sqs", check_sqs(&state)),
        probe("eventbridge", check_eventbridge(&state)),
    );
    let checks: BTreeMap<_, _> = [results.0, results.1, results.2, results.3].into_iter().collect();
    let failed: Vec<String> =
        checks.iter().filter(|(_, c)| c.error.is_some()).map(|(n, _)| (*n).to_owned()).collect();
    if failed.is_empty() {
        return Ok(Json(Readiness { status: "ok", checks }));
    }
    let checks = serde_json::to_value(&checks).map_err(ApiError::internal)?;
    Err(ApiError::DependenciesUnavailable { failed, checks })
}

/// Cold-start work for the readiness function: fail fast on missing settings and build the pool.
/// The AWS clients are built on first use (still once per instance): loading the SDK
/// configuration costs ~5 ms (it reads the system root certificates), which would otherwise
/// triple the init phase for no gain in time to the first response.
pub async fn warm_ready(state: &AppState) -> Result<(), crate::platform::error::StartupError> {
    state.config().probe_targets()?;
    state.db().await?;
    Ok(())
}
