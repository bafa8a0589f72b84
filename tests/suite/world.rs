//! An identity world for tests: a fresh database and private stack, tenants, and people with roles
//! whose tokens are minted through the real session start and the real signer (no argon2 per
//! person unless a test needs a password). The clock is a manual one the tests move.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use chrono::Utc;
use gateway::identity::sessions::{self, TokenPair};
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
            sessions::start(&tx, &keys, user, tenant, &Caller::default(), gateway::Clock::now(&*self.clock))
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
