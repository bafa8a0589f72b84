//! Test support: a fresh database per test (cloned from the migrated template), a private AWS stack
//! per test (unique names, provisioned from template.yaml), and the in-process router.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use gateway::platform::aws::Aws;
use gateway::{AppState, Config, Env, SharedClock, SystemClock};
use gateway_functions::local::{self, LocalStack, provision, template};
use http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tokio_postgres::NoTls;
use tower::ServiceExt;

const HOW: &str = "run the suite with scripts/test, which starts Postgres and the AWS emulator";

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {HOW}"))
}

/// A short unique suffix for database and stack names.
/// A file of the team's fixtures (`../shared/fixtures` beside the repository).
pub fn fixture(name: &str) -> std::path::PathBuf {
    gateway_functions::local::repo_root().join("../shared/fixtures").join(name)
}

pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A database of its own, cloned from the migrated template.
pub struct TestDb {
    pub name: String,
    base: String,
}

impl TestDb {
    pub async fn create() -> Self {
        Self::create_from(&required("GATEWAY_TEST_TEMPLATE_DB")).await
    }

    /// An empty database (no migrations), for migration tests.
    pub async fn create_empty() -> Self {
        Self::create_from("template0").await
    }

    async fn create_from(template: &str) -> Self {
        let base = required("GATEWAY_TEST_PG");
        let name = format!("t_{}", unique());
        let admin = connect(&format!("{base}/postgres")).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .unwrap_or_else(|e| panic!("cloning {template}: {e}; {HOW}"));
        Self { name, base }
    }

    /// The schema owner's URL.
    pub fn admin_url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }

    /// The application role's URL (row-level security applies).
    pub fn app_url(&self) -> String {
        self.admin_url().replacen("postgres@", "gateway_app@", 1)
    }

    /// The cross-tenant role's URL.
    pub fn ops_url(&self) -> String {
        self.admin_url().replacen("postgres@", "gateway_ops@", 1)
    }

    pub async fn admin(&self) -> tokio_postgres::Client {
        connect(&self.admin_url()).await
    }

    pub async fn app(&self) -> tokio_postgres::Client {
        connect(&self.app_url()).await
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}; {HOW}"));
    tokio::spawn(conn);
    client
}

pub fn template() -> template::Template {
    template::Template::load(&local::repo_root().join("template.yaml")).expect("template.yaml parses")
}

/// A private stack of the production template (unique resource names).
pub fn local_stack(name: &str) -> LocalStack {
    LocalStack {
        template: template(),
        name: name.to_owned(),
        region: "us-east-1".into(),
        overrides: Default::default(),
    }
}

/// The environment the local runner gives every function, for a private stack name.
pub fn stack_env(stack: &str, extra: &[(&str, String)]) -> Env {
    env_of(&local_stack(stack), extra)
}

pub fn env_of(stack: &LocalStack, extra: &[(&str, String)]) -> Env {
    required("AWS_ENDPOINT_URL");
    let env = stack.env(&Env::from_process()).expect("stack env resolves");
    env.overlay(&Env::from_map(extra.iter().map(|(k, v)| (k.to_string(), v.clone()))))
}

/// Provisions a private stack's tables, bus, bucket and secrets in the emulator.
pub async fn provision_stack(stack: &str) {
    provision(&local_stack(stack), &Default::default()).await;
}

pub async fn provision(stack: &LocalStack, overrides: &provision::Overrides) {
    provision::provision(&Aws::load().await, &stack.template, &stack.resolver(), overrides)
        .await
        .unwrap_or_else(|e| panic!("provisioning {}: {e:#}; {HOW}", stack.name));
}

pub struct Stack {
    pub router: Router,
}

/// A fresh database and a provisioned private stack, served by the same router as the local runner.
pub async fn stack() -> Stack {
    stack_with(Arc::new(SystemClock), true).await
}

/// A fresh database and a private stack (provisioned or not): the state every function gets.
pub async fn stack_state_with(clock: SharedClock, provision: bool) -> AppState {
    let db = TestDb::create().await;
    let name = format!("t{}", unique());
    if provision {
        provision_stack(&name).await;
    }
    let env = stack_env(&name, &[("DATABASE_URL", db.app_url()), ("DATABASE_OPS_URL", db.ops_url())]);
    AppState::new(Config::from_env(&env).expect("config"), clock)
}

pub async fn stack_state() -> AppState {
    stack_state_with(Arc::new(SystemClock), true).await
}

pub async fn stack_with(clock: SharedClock, provision: bool) -> Stack {
    let state = stack_state_with(clock, provision).await;
    let router = local::router(&state).await.expect("router builds");
    Stack { router }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts the RFC 9457 shape every error must have, and returns the machine code.
    pub fn problem(&self, status: u16) -> &str {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()), "{}", self.body);
        let code = self.body["code"].as_str().expect("code");
        assert_eq!(self.body["type"], format!("urn:problem:gateway:{code}"));
        let header_id = self.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("x-request-id");
        assert_eq!(self.body["request_id"], header_id, "the problem carries the request id");
        code
    }
}

pub async fn send(router: &Router, req: Request<Body>) -> Reply {
    let (method, uri) = (req.method().to_string(), req.uri().path().to_owned());
    let (parts, body) = req.into_parts();
    let sent = axum::body::to_bytes(body, 64 * 1024 * 1024).await.expect("request body");
    let request = parse_body(&sent);
    let res = router.clone().oneshot(Request::from_parts(parts, Body::from(sent))).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.expect("body");
    let reply = Reply { status, headers, body: parse_body(&bytes) };
    record(&method, &uri, &request, &reply);
    reply
}

/// With `GATEWAY_RECORD_RESPONSES` set (scripts/test sets it), every answer the suite gets is
/// appended to a file of this process's in that folder, for `scripts/lib/check_responses.py` to
/// hold against the OpenAPI document (and for `scripts/lib/examples.py` to take examples from).
fn record(method: &str, path: &str, request: &Value, reply: &Reply) {
    let Ok(dir) = std::env::var("GATEWAY_RECORD_RESPONSES") else { return };
    let content_type = reply.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let line = serde_json::json!({"method": method, "path": path, "request": request,
        "status": reply.status.as_u16(), "content_type": content_type, "body": reply.body});
    use std::io::Write;
    let file = std::path::Path::new(&dir).join(format!("{}.jsonl", std::process::id()));
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
        let _ = writeln!(f, "{line}");
    }
}

/// A body as JSON: `null` when empty, a JSON string when it is not JSON.
pub fn parse_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()))
    }
}

pub async fn get(router: &Router, path: &str) -> Reply {
    send(router, Request::get(path).body(Body::empty()).unwrap()).await
}

/// Starts the real `local-runner` binary on a free port against `db` (a second OS process serving
/// every route), with its own private stack; its files go under `dir`. Returns it and its base URL.
/// `stack` names the AWS stack it uses (share a test's to share its tables); `None` for its own.
/// `extra` is more environment (settings, `CLOCK_OFFSET_FILE`).
pub async fn spawn_runner(
    db: &TestDb,
    dir: &std::path::Path,
    seed: bool,
    stack: Option<&str>,
    extra: &[(&str, String)],
) -> (tokio::process::Child, String) {
    let mut runner = tokio::process::Command::new(env!("CARGO_BIN_EXE_local-runner"));
    runner.envs(extra.iter().map(|(k, v)| (*k, v.as_str())));
    runner
        .arg("serve")
        .env("PORT", "0")
        .env("STACK_NAME", stack.map(str::to_owned).unwrap_or_else(|| format!("t{}", unique())))
        .env("DATABASE_URL", db.app_url())
        .env("DATABASE_ADMIN_URL", db.admin_url())
        .env("DATABASE_OPS_URL", db.ops_url())
        .env("LOCAL_SCHEDULES", "off")
        .env("SEED", if seed { "1" } else { "0" })
        .env("CFN_PARAM_EmailSender", "mailbox")
        .env("MAILBOX_DIR", dir.join("mailbox"))
        .env("DEMO_FILE", dir.join("demo.json"));
    spawn_announcing(runner, "local runner listening on ", 60, "the runner").await
}

/// Starts `cmd` (killed when dropped) and waits at most `seconds` for the line of its output that
/// starts with `prefix`; returns it and the rest of that line (its URL). Its output is read on
/// after that, so the pipe never fills.
pub async fn spawn_announcing(
    mut cmd: tokio::process::Command,
    prefix: &str,
    seconds: u64,
    what: &str,
) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(std::time::Duration::from_secs(seconds), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix(prefix) {
                return url.to_owned();
            }
        }
        panic!("{what} exited before it listened");
    })
    .await
    .unwrap_or_else(|_| panic!("{what} did not listen within {seconds} s"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// An HTTP client for the tests' own requests (to a runner or a provider); no redirects followed.
/// reqwest's TLS is rustls without a built-in crypto provider here, so aws-lc is installed first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("HTTP client")
}
