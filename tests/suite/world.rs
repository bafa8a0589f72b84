//! An identity world for tests: a fresh database and private stack, tenants, and people with roles
//! whose tokens are minted through the real session start and the real signer (no argon2 per
//! person unless a test needs a password). The clock is a manual one the tests move.
//!
//! The kit: [`World::get`]/[`World::post`]/... build a [`Call`] that states the status it expects
//! (`w.post(path, body).by(&admin).expect(201).await` returns the JSON body); shared fixtures
//! ([`PASSWORD`], [`World::product`], [`World::login`]); and [`Twin`], the one two-process race
//! harness (the real local runner as a second OS process over the same database).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use chrono::Utc;
use gateway::identity::{TokenPair, start_session};
use gateway::platform::db::scoped_tx;
use gateway::platform::http::Caller;
use gateway::platform::tenant::TenantId;
use gateway::{AppState, Config, ManualClock};
use gateway_functions::local;
use http::Request;
use secrecy::SecretString;
use serde_json::Value;
use uuid::Uuid;

use crate::support::{Reply, TestDb, provision_stack, send, stack_env, unique};

/// The one password of every test person who signs in with one.
pub const PASSWORD: &str = "correct horse battery staple";

pub struct World {
    pub db: TestDb,
    /// The private stack's name (its DynamoDB tables, bus and secrets).
    pub stack: String,
    pub state: AppState,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub platform: TenantId,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub email: String,
    pub tenant: TenantId,
    pub token: String,
    pub refresh: String,
    pub session: Uuid,
}

impl World {
    pub async fn new() -> Self {
        Self::new_with(&[]).await
    }

    /// A world whose functions see `extra` environment on top of the stack's.
    pub async fn new_with(extra: &[(&str, String)]) -> Self {
        let db = TestDb::create().await;
        let name = format!("t{}", unique());
        provision_stack(&name).await;
        let mut vars = vec![("DATABASE_URL", db.app_url()), ("DATABASE_OPS_URL", db.ops_url())];
        vars.extend(extra.iter().cloned());
        let env = stack_env(&name, &vars);
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let state = AppState::new(Config::from_env(&env).expect("config"), clock.clone());
        let router = local::router(&state).await.expect("router builds");
        let world = Self { db, stack: name, state, router, clock, platform: TenantId::new() };
        world.insert_tenant(world.platform, "platform").await;
        world
    }

    async fn insert_tenant(&self, id: TenantId, kind: &str) {
        let slug = format!("{kind}-{}", &unique()[..8]);
        self.db
            .admin()
            .await
            .execute(
                "INSERT INTO tenants (id, slug, name, kind) VALUES ($1, $2, $2, $3)",
                &[&id.as_uuid(), &slug, &kind],
            )
            .await
            .unwrap();
    }

    /// Sets a tenant setting (JSON value).
    pub async fn setting(&self, tenant: TenantId, key: &str, value: Value) {
        self.db
            .admin()
            .await
            .execute(
                "INSERT INTO tenant_settings (tenant_id, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value",
                &[&tenant.as_uuid(), &key, &value],
            )
            .await
            .unwrap();
    }

    pub async fn tenant(&self) -> TenantId {
        self.tenant_of("clinic").await
    }

    /// A tenant of `kind` (`clinic`, `vendor`, ...).
    pub async fn tenant_of(&self, kind: &str) -> TenantId {
        let id = TenantId::new();
        self.insert_tenant(id, kind).await;
        id
    }

    /// A user (no password) who is an active member of `tenant` with `roles`, signed in.
    pub async fn person(&self, tenant: TenantId, roles: &[&str]) -> Person {
        self.person_with(tenant, roles, None).await
    }

    /// The same, with a password to sign in with.
    pub async fn person_with(&self, tenant: TenantId, roles: &[&str], password: Option<&str>) -> Person {
        let id = Uuid::now_v7();
        let email = format!("p{}@example.com", &unique()[..10]);
        let hash =
            password.map(|p| gateway::identity::passwords::hash(&SecretString::from(p.to_owned())).unwrap());
        let admin = self.db.admin().await;
        admin
            .execute(
                "INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
                 VALUES ($1, $2, 'Test Person', $3, now(), now())",
                &[&id, &email, &hash],
            )
            .await
            .unwrap();
        self.join(id, tenant, roles).await;
        let pair = self.mint(id, tenant).await;
        Person {
            id,
            email,
            tenant,
            token: pair.access_token,
            refresh: pair.refresh_token,
            session: pair.session_id,
        }
    }

    /// Makes `user` an active member of `tenant` with `roles`.
    pub async fn join(&self, user: Uuid, tenant: TenantId, roles: &[&str]) {
        let admin = self.db.admin().await;
        admin
            .execute(
                "INSERT INTO tenant_users (tenant_id, user_id, status, created_at, updated_at)
                 VALUES ($1, $2, 'active', now(), now())",
                &[&tenant.as_uuid(), &user],
            )
            .await
            .unwrap();
        for r in roles {
            admin
                .execute(
                    "INSERT INTO role_grants (tenant_id, user_id, role_code, granted_at) VALUES ($1, $2, $3, now())",
                    &[&tenant.as_uuid(), &user, r],
                )
                .await
                .unwrap();
        }
    }

    /// A new session for `user` in `tenant`, through the real session start and signer: the
    /// test-only minting path (login without the password check).
    pub async fn mint(&self, user: Uuid, tenant: TenantId) -> TokenPair {
        let keys = gateway::identity::keys::of(&self.state).await;
        let mut conn = self.state.db().await.unwrap().conn().await.unwrap();
        let tx = scoped_tx(&mut conn, Some(tenant), Some(user)).await.unwrap();
        let pair =
            start_session(&tx, &keys, user, tenant, &Caller::default(), gateway::Clock::now(&*self.clock))
                .await
                .unwrap();
        tx.commit().await.unwrap();
        pair
    }

    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        send(&self.router, req.unwrap()).await
    }

    /// A request whose body is `body` as `content_type` (a CSV import).
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: String,
    ) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        send(&self.router, req).await
    }

    /// The events of `type` written to the outbox, newest first.
    pub async fn outbox(&self, event_type: &str) -> Vec<Value> {
        self.db
            .admin()
            .await
            .query("SELECT data FROM outbox WHERE event_type = $1 ORDER BY id DESC", &[&event_type])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// The token in the link of the newest email of `template`.
    pub async fn emailed_token(&self, template: &str) -> String {
        let mails = self.outbox("notification.email_requested").await;
        let mail = mails.iter().find(|m| m["template"] == template).expect("an email was requested");
        let url = ["accept_url", "reset_url"].iter().find_map(|k| mail["params"][*k].as_str()).unwrap();
        url.split("token=").nth(1).unwrap().to_owned()
    }

    pub async fn audit_actions(&self, tenant: Option<TenantId>) -> Vec<String> {
        self.db
            .admin()
            .await
            .query(
                "SELECT action FROM audit_log WHERE tenant_id IS NOT DISTINCT FROM $1 ORDER BY id",
                &[&tenant.map(|t| t.as_uuid())],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

/// One request to a world's router (or, through [`Twin::race`], to the second process), built with
/// [`World::call_to`] and friends; it states the status it expects.
#[derive(Clone)]
pub struct Call<'w> {
    w: &'w World,
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl World {
    /// `method path` with no body and no token (add them with [`Call::body`], [`Call::by`]).
    pub fn call_to(&self, method: &'static str, path: impl Into<String>) -> Call<'_> {
        Call { w: self, method, path: path.into(), token: None, body: None, headers: Vec::new() }
    }

    pub fn get(&self, path: impl Into<String>) -> Call<'_> {
        self.call_to("GET", path)
    }

    pub fn post(&self, path: impl Into<String>, body: Value) -> Call<'_> {
        self.call_to("POST", path).body(body)
    }

    pub fn put(&self, path: impl Into<String>, body: Value) -> Call<'_> {
        self.call_to("PUT", path).body(body)
    }

    pub fn patch(&self, path: impl Into<String>, body: Value) -> Call<'_> {
        self.call_to("PATCH", path).body(body)
    }

    /// Signs in with a password (no token); the answer as it is.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/api/v1/auth/login", serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
    }

    /// A platform product made by platform staff `by` (201): its JSON. `extra` fields are merged
    /// over the defaults (`{"approval_gated": true}`, `{"weight_grams": 120}`, ...).
    pub async fn product(&self, by: &Person, sku: &str, name: &str, extra: Value) -> Value {
        let mut body = serde_json::json!({"sku": sku, "name": name, "weight_grams": 10,
                                          "dimensions_mm": {"length": 1, "width": 1, "height": 1}});
        if let (Some(fields), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            fields.extend(extra.clone());
        }
        self.post("/api/v1/catalog/products", body).by(by).expect(201).await
    }

    /// Lifts the read and write rate limits of `tenants` out of a test's way.
    pub async fn unlimited(&self, tenants: &[TenantId]) {
        for t in tenants {
            for class in ["read", "write"] {
                self.setting(*t, &format!("rate_limit.{class}_per_minute"), serde_json::json!(100_000)).await;
            }
        }
    }

    /// Starts the second process sharing this world's stack (its DynamoDB tables, bus, queues).
    pub async fn twin(&self) -> Twin {
        Twin::start(self, Some(&self.stack), &[]).await
    }

    /// [`Self::twin`] with more environment (settings, a shared `CLOCK_OFFSET_FILE`).
    pub async fn twin_with(&self, extra: &[(&str, String)]) -> Twin {
        Twin::start(self, Some(&self.stack), extra).await
    }
}

impl<'w> Call<'w> {
    /// Signed in as `p` (their bearer token).
    pub fn by(self, p: &Person) -> Self {
        self.token(&p.token)
    }

    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sends it; the answer, whatever its status.
    pub async fn send(self) -> Reply {
        self.w.call_with(self.method, &self.path, self.token.as_deref(), self.body, &self.headers).await
    }

    /// Sends it and fails (method, path, expected and actual status, body) unless the answer has
    /// `status`; the answer's JSON.
    pub async fn expect(self, status: u16) -> Value {
        let (method, path) = (self.method, self.path.clone());
        let r = self.send().await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{method} {path}: expected {status}, got {}: {}",
            r.status,
            r.body
        );
        r.body
    }
}

/// The real `local-runner` binary as a second OS process serving every route over the world's
/// database: the one harness for races between two processes. Killed (and its files removed) when
/// dropped.
pub struct Twin {
    child: tokio::process::Child,
    /// Its base URL.
    pub api: String,
    dir: std::path::PathBuf,
    http: reqwest::Client,
}

impl Twin {
    async fn start(w: &World, stack: Option<&str>, extra: &[(&str, String)]) -> Self {
        let dir = std::env::temp_dir().join(format!("twin-{}", unique()));
        let (child, api) = crate::support::spawn_runner(&w.db, &dir, false, stack, extra).await;
        Self { child, api, dir, http: crate::support::http_client() }
    }

    /// Sends `call` to the second process instead of the world's router.
    pub async fn send(&self, call: Call<'_>) -> Reply {
        let method = reqwest::Method::from_bytes(call.method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{}", self.api, call.path));
        if let Some(t) = call.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in call.headers {
            req = req.header(k, v);
        }
        if let Some(b) = call.body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{} {}: {e}", call.method, call.path));
        let status = http::StatusCode::from_u16(res.status().as_u16()).unwrap();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        Reply { status, headers, body: crate::support::parse_body(&bytes) }
    }

    /// Sends every call at once, `here` through this process and `there` through the second one;
    /// the answers in order (`here`'s first).
    pub async fn race<'w>(
        &self,
        here: impl IntoIterator<Item = Call<'w>>,
        there: impl IntoIterator<Item = Call<'w>>,
    ) -> Vec<Reply> {
        let here = futures::future::join_all(here.into_iter().map(Call::send));
        let there = futures::future::join_all(there.into_iter().map(|c| self.send(c)));
        let (mut here, there) = futures::future::join(here, there).await;
        here.extend(there);
        here
    }

    /// The statuses of [`Self::race`].
    pub async fn race_statuses<'w>(
        &self,
        here: impl IntoIterator<Item = Call<'w>>,
        there: impl IntoIterator<Item = Call<'w>>,
    ) -> Vec<u16> {
        self.race(here, there).await.iter().map(|r| r.status.as_u16()).collect()
    }

    /// The folder its mailbox sender writes each email to (one `.eml` file per email).
    pub fn mailbox(&self) -> std::path::PathBuf {
        self.dir.join("mailbox")
    }

    /// The process's exit code once it has ended by itself (waits up to 10 s; `None`: still running).
    pub async fn exited(&mut self) -> Option<i32> {
        let wait = self.child.wait();
        tokio::time::timeout(std::time::Duration::from_secs(10), wait).await.ok()?.ok()?.code()
    }

    /// The first email in its mailbox that contains `needle` (waits up to 30 s; empty if none came).
    pub async fn mail_containing(&self, needle: &str) -> String {
        for _ in 0..300 {
            let mail = std::fs::read_dir(self.mailbox())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .find(|m| m.contains(needle));
            if let Some(mail) = mail {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        String::new()
    }

    /// Stops the process now (rather than when dropped).
    pub async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}

impl Drop for Twin {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
