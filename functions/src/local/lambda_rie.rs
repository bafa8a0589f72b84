//! A minimal Lambda Runtime API emulator: runs a function's real binary the way Lambda does
//! (`AWS_LAMBDA_RUNTIME_API`, `GET …/invocation/next`, `POST …/{id}/response`) for one invocation,
//! and measures init (exec → first `/next`) and exec → response. Used by `scripts/invoke`,
//! `scripts/bench` and the tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::mpsc;

const PREFIX: &str = "/2018-06-01/runtime";

/// What one invocation gave back.
#[derive(Debug)]
pub struct Invocation {
    /// The function's response, or its error document.
    pub result: Result<serde_json::Value, serde_json::Value>,
    /// From exec to the runtime's first `/next` request (cold start).
    pub init: Duration,
    /// From exec to the response.
    pub total: Duration,
}

enum Outcome {
    Next(Instant),
    Done(Instant, Result<serde_json::Value, serde_json::Value>),
}

struct Shared {
    event: Mutex<Option<Vec<u8>>>,
    request_id: String,
    function: String,
    tx: mpsc::UnboundedSender<Outcome>,
}

async fn next(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    let _ = s.tx.send(Outcome::Next(Instant::now()));
    let event = s.event.lock().map(|mut e| e.take()).unwrap_or(None);
    let Some(event) = event else {
        // One invocation per run: later polls wait until the process is stopped.
        std::future::pending::<()>().await;
        return (StatusCode::NO_CONTENT, HeaderMap::new(), Vec::new());
    };
    let mut h = HeaderMap::new();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() + 300_000)
        .unwrap_or_default();
    let arn = format!("arn:aws:lambda:us-east-1:{}:function:{}", super::template::LOCAL_ACCOUNT, s.function);
    for (k, v) in [
        ("lambda-runtime-aws-request-id", s.request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", arn),
        ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned()),
        ("content-type", "application/json".to_owned()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    (StatusCode::OK, h, event)
}

fn json_or_text(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into()))
}

async fn response(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let _ = s.tx.send(Outcome::Done(Instant::now(), Ok(json_or_text(&body))));
    StatusCode::ACCEPTED
}

async fn error(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let _ = s.tx.send(Outcome::Done(Instant::now(), Err(json_or_text(&body))));
    StatusCode::ACCEPTED
}

/// Runs `binary` for one invocation with `event`, its environment being `env` plus the variables
/// Lambda sets. The process is stopped after it answers (or after `timeout`).
pub async fn invoke(
    binary: &Path,
    function: &str,
    event: &serde_json::Value,
    env: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<Invocation> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        event: Mutex::new(Some(serde_json::to_vec(event)?)),
        request_id: uuid::Uuid::new_v4().to_string(),
        function: function.to_owned(),
        tx,
    });
    let app = Router::new()
        .route(&format!("{PREFIX}/invocation/next"), get(next))
        .route(&format!("{PREFIX}/invocation/{{id}}/response"), post(response))
        .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
        .route(&format!("{PREFIX}/init/error"), post(error))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;

    let waited = tokio::time::timeout(timeout, async {
        let mut init = None;
        loop {
            tokio::select! {
                outcome = rx.recv() => match outcome {
                    Some(Outcome::Next(at)) => { init.get_or_insert(at - started); }
                    Some(Outcome::Done(at, result)) => {
                        return Ok(Invocation { result, init: init.unwrap_or_default(), total: at - started });
                    }
                    None => return Err(anyhow!("runtime API closed")),
                },
                status = child.wait() => {
                    return Err(anyhow!("{function} exited ({}) before answering", status.map(|s| s.to_string()).unwrap_or_default()));
                }
            }
        }
    })
    .await;
    let _ = child.kill().await;
    server.abort();
    waited.map_err(|_| anyhow!("{function} did not answer within {timeout:?}"))?
}
