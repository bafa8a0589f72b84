//! The state every HTTP and task handler receives: configuration, the clock, and the resources a
//! function uses, each built at most once per instance and only if the function asks for it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::aws::Aws;
use super::capability::Capabilities;
use super::capability::Capability::{
    CircuitBreakers, DeadLetters, Files, HealthProbe, Idempotency, PublishEvents, RateLimits, SendEmail,
};
use super::clock::{SharedClock, SystemClock};
use super::config::{Config, ConfigError, DbRole, DbSource, Env};
use super::db::{Db, DbError};
use super::secrets::Secrets;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    /// The configuration as this function sees it (see [`AppState::for_function`]).
    config: Arc<Config>,
}

struct Inner {
    clock: SharedClock,
    aws: OnceCell<Aws>,
    secrets: OnceCell<Secrets>,
    db: OnceCell<Db>,
    dynamodb: OnceCell<aws_sdk_dynamodb::Client>,
    sqs: OnceCell<aws_sdk_sqs::Client>,
    eventbridge: OnceCell<aws_sdk_eventbridge::Client>,
    s3: OnceCell<aws_sdk_s3::Client>,
    sesv2: OnceCell<aws_sdk_sesv2::Client>,
    ops_db: OnceCell<Db>,
    /// Values a context builds once per instance (identity's key rings), by type and slot.
    instance: std::sync::Mutex<HashMap<(TypeId, u8), Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("stage", &self.config.stage).finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(config: Config, clock: SharedClock) -> Self {
        Self {
            config: Arc::new(config),
            inner: Arc::new(Inner {
                clock,
                aws: OnceCell::new(),
                secrets: OnceCell::new(),
                db: OnceCell::new(),
                dynamodb: OnceCell::new(),
                sqs: OnceCell::new(),
                eventbridge: OnceCell::new(),
                s3: OnceCell::new(),
                sesv2: OnceCell::new(),
                ops_db: OnceCell::new(),
                instance: Default::default(),
            }),
        }
    }

    /// The state one function's handlers receive: the same pools, clients and clock, and a
    /// configuration that refuses what the function did not declare. The local runner serves every
    /// function from one process; this is what keeps each to its own declaration there.
    pub fn for_function(&self, name: &'static str, caps: Capabilities) -> Self {
        Self { inner: self.inner.clone(), config: Arc::new(self.config.for_function(name, caps)) }
    }

    /// State for a deployed function: configuration from `env`, the system clock.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(Config::from_env(env)?, Arc::new(SystemClock)))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    pub async fn aws(&self) -> &Aws {
        self.inner.aws.get_or_init(Aws::load).await
    }

    pub async fn secrets(&self) -> &Secrets {
        let aws = self.aws().await;
        self.inner
            .secrets
            .get_or_init(|| async { Secrets::new(aws.secretsmanager(), self.inner.clock.clone()) })
            .await
    }

    /// The pool for the application role (row-level security applies), built once.
    pub async fn db(&self) -> Result<&Db, DbError> {
        self.require_db(DbRole::App)?;
        self.inner.db.get_or_try_init(|| self.connect_db(DbRole::App)).await
    }

    /// The pool for the cross-tenant role (outbox relay, reconcilers, sweeps), built once. Only
    /// the functions that do cross-tenant work are given its credentials.
    pub async fn ops_db(&self) -> Result<&Db, DbError> {
        self.require_db(DbRole::Ops)?;
        self.inner.ops_db.get_or_try_init(|| self.connect_db(DbRole::Ops)).await
    }

    /// The pools are shared by every function of a local runner: a function that did not declare
    /// the role is refused even when another one already built the pool.
    fn require_db(&self, role: DbRole) -> Result<(), DbError> {
        self.config().require(&[role.capability()]).map_err(|e| DbError::Settings(e.to_string()))
    }

    /// A new pool for `role`, reading credentials from Secrets Manager when configured by host.
    pub async fn connect_db(&self, role: DbRole) -> Result<Db, DbError> {
        let cfg = self.config().db(role).map_err(|e| DbError::Settings(e.to_string()))?;
        let secrets = match cfg.source {
            DbSource::Host { .. } => Some(self.secrets().await),
            DbSource::Url(_) => None,
        };
        Db::connect(&cfg, secrets).await
    }

    /// The instance's one value of type `T` in `slot`, built by `init` the first time it is asked
    /// for. Contexts keep what is costly to build and safe to share here (identity's key rings).
    pub fn instance<T: Any + Send + Sync>(&self, slot: u8, init: impl FnOnce() -> T) -> Arc<T> {
        let mut map = self.inner.instance.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (TypeId::of::<T>(), slot);
        if let Some(v) = map.get(&key).and_then(|v| v.clone().downcast::<T>().ok()) {
            return v;
        }
        let v = Arc::new(init());
        map.insert(key, v.clone());
        v
    }

    /// The DynamoDB client, for a function that declared one of the tables (or the probe).
    pub async fn dynamodb(&self) -> Result<&aws_sdk_dynamodb::Client, ConfigError> {
        self.config().require(&[RateLimits, Idempotency, CircuitBreakers, HealthProbe])?;
        let aws = self.aws().await;
        Ok(self.inner.dynamodb.get_or_init(|| async { aws.dynamodb() }).await)
    }

    /// The SQS client: only the readiness probe lists queues (Lambda feeds the consumers).
    pub async fn sqs(&self) -> Result<&aws_sdk_sqs::Client, ConfigError> {
        self.config().require(&[HealthProbe, DeadLetters])?;
        let aws = self.aws().await;
        Ok(self.inner.sqs.get_or_init(|| async { aws.sqs() }).await)
    }

    pub async fn eventbridge(&self) -> Result<&aws_sdk_eventbridge::Client, ConfigError> {
        self.config().require(&[PublishEvents, HealthProbe])?;
        let aws = self.aws().await;
        Ok(self.inner.eventbridge.get_or_init(|| async { aws.eventbridge() }).await)
    }

    pub async fn sesv2(&self) -> Result<&aws_sdk_sesv2::Client, ConfigError> {
        self.config().require(&[SendEmail])?;
        let aws = self.aws().await;
        Ok(self.inner.sesv2.get_or_init(|| async { aws.sesv2() }).await)
    }

    pub async fn s3(&self) -> Result<&aws_sdk_s3::Client, ConfigError> {
        self.config().require(&[Files])?;
        let aws = self.aws().await;
        Ok(self.inner.s3.get_or_init(|| async { aws.s3() }).await)
    }
}
