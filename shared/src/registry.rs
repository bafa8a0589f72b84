//! Every Lambda function the gateway deploys, by the name of its binary in `functions/src/bin`
//! and its logical function in `template.yaml`. A binary runs exactly one entry; the local runner
//! and the OpenAPI document use them all; tests hold the three lists (binaries, template,
//! registry) equal.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::future::BoxFuture;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::platform::config::ConfigError;
use crate::platform::db::DbError;
use crate::platform::state::AppState;
use crate::platform::{health, openapi};

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
}

pub type Warm = for<'a> fn(&'a AppState) -> BoxFuture<'a, Result<(), StartupError>>;

/// An API function: one route (method and path, from its `#[utoipa::path]`), and its cold-start work.
pub struct HttpFunction {
    pub name: &'static str,
    pub routes: fn() -> OpenApiRouter<AppState>,
    pub warm: Warm,
}

pub type TaskHandler =
    for<'a> fn(&'a AppState, serde_json::Value) -> BoxFuture<'a, Result<serde_json::Value, TaskError>>;

/// A function invoked directly or by a schedule (not over HTTP): JSON in, JSON out.
pub struct TaskFunction {
    pub name: &'static str,
    pub handler: TaskHandler,
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Event(#[from] crate::platform::events::EventError),
}

impl From<ConfigError> for TaskError {
    fn from(e: ConfigError) -> Self {
        Self::Startup(e.into())
    }
}

pub type QueueHandler = for<'a> fn(&'a AppState, SqsEvent) -> BoxFuture<'a, SqsBatchResponse>;

/// A function fed by an SQS queue: a batch in, the failed message ids out.
pub struct QueueFunction {
    pub name: &'static str,
    pub handler: QueueHandler,
    pub warm: Warm,
}

fn nothing(_: &AppState) -> BoxFuture<'_, Result<(), StartupError>> {
    Box::pin(async { Ok(()) })
}

pub static HEALTH: HttpFunction = HttpFunction {
    name: "health",
    routes: || OpenApiRouter::new().routes(routes!(health::health)),
    warm: nothing,
};

pub static HEALTH_READY: HttpFunction = HttpFunction {
    name: "health-ready",
    routes: || OpenApiRouter::new().routes(routes!(health::ready)),
    warm: |s| Box::pin(health::warm_ready(s)),
};

pub static OPENAPI: HttpFunction = HttpFunction {
    name: "openapi",
    routes: || OpenApiRouter::new().routes(routes!(openapi::openapi_json)),
    warm: |_| {
        Box::pin(async {
            openapi::document();
            Ok(())
        })
    },
};

pub static MIGRATE: TaskFunction =
    TaskFunction { name: "migrate", handler: |s, _event| Box::pin(crate::platform::db::migrate_task(s)) };

pub static OUTBOX_RELAY: TaskFunction = TaskFunction {
    name: "outbox-relay",
    handler: |s, _event| Box::pin(crate::platform::events::relay_task(s)),
};

pub static NOTIFY_EMAIL: QueueFunction = QueueFunction {
    name: "notify-email",
    handler: |s, batch| {
        Box::pin(crate::platform::consumer::handle_batch(s, "notify-email", batch, move |d| {
            crate::notifications::deliver(s, d)
        }))
    },
    warm: |s| {
        Box::pin(async move {
            crate::notifications::sender::SenderConfig::from_env(&s.config().env)?;
            Ok(())
        })
    },
};

pub static HTTP_FUNCTIONS: &[&HttpFunction] = &[&HEALTH, &HEALTH_READY, &OPENAPI];
pub static TASK_FUNCTIONS: &[&TaskFunction] = &[&MIGRATE, &OUTBOX_RELAY];
pub static QUEUE_FUNCTIONS: &[&QueueFunction] = &[&NOTIFY_EMAIL];
