//! Runs the gateway's functions: [`run_http`] and [`run_task`] put one registry entry under the
//! Lambda runtime; [`local`] is the local runner that serves every function of `template.yaml` on
//! one port against the AWS emulator.

pub mod local;

use axum::Router;
use gateway::platform::capability::Capabilities;
use gateway::platform::http::{ClientIp, RequestId, finish};
use gateway::platform::telemetry;
use gateway::registry::{HttpFunction, QueueFunction, StartupError, TaskFunction};
use gateway::{AppState, Env};
use lambda_http::{RequestExt, service_fn};
use tower::ServiceExt;

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}

/// Cold start shared by every kind: telemetry, configuration, the state as the function declared it.
fn cold_start(name: &'static str, capabilities: Capabilities) -> Result<AppState, StartupError> {
    let env = Env::from_process();
    telemetry::init(&env);
    Ok(AppState::from_env(&env)?.for_function(name, capabilities))
}

/// One function's router with the platform layers, ready to serve.
pub fn http_router(f: &HttpFunction, state: AppState) -> Router {
    let limit = state.config().body_limit_bytes;
    let state = state.for_function(f.name(), f.capabilities);
    finish((f.routes)().split_for_parts().0.with_state(state), limit)
}

/// The `main` of an API function binary.
pub fn run_http(f: &'static HttpFunction) -> Result<(), lambda_http::Error> {
    runtime()?.block_on(async {
        let state = cold_start(f.name(), f.capabilities)?;
        (f.warm)(&state).await?;
        let router = http_router(f, state);
        tracing::info!(function = f.name(), "cold start complete");
        lambda_http::run(service_fn(move |mut req: lambda_http::Request| {
            if let Some(ctx) = req.lambda_context_ref() {
                let id = RequestId(ctx.request_id.clone());
                req.extensions_mut().insert(id);
            }
            if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
                if let Some(ip) = ctx.http.source_ip.clone() {
                    req.extensions_mut().insert(ClientIp(ip));
                }
            }
            router.clone().oneshot(req)
        }))
        .await
    })
}

/// The `main` of a directly-invoked function binary.
pub fn run_task(f: &'static TaskFunction) -> Result<(), lambda_runtime::Error> {
    runtime()?.block_on(async {
        let state = cold_start(f.name, f.capabilities)?;
        tracing::info!(function = f.name, "cold start complete");
        lambda_runtime::run(lambda_runtime::service_fn(
            |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
                let state = state.clone();
                async move {
                    (f.handler)(&state, event.payload).await.map_err(|e| {
                        tracing::error!(function = f.name, error = %e, "task failed");
                        lambda_runtime::Error::from(e.to_string())
                    })
                }
            },
        ))
        .await
    })
}

/// The `main` of a queue-fed function binary.
pub fn run_queue(f: &'static QueueFunction) -> Result<(), lambda_runtime::Error> {
    runtime()?.block_on(async {
        let state = cold_start(f.name, f.capabilities)?;
        (f.warm)(&state).await?;
        tracing::info!(function = f.name, "cold start complete");
        lambda_runtime::run(lambda_runtime::service_fn(
            |event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
                let state = state.clone();
                async move { Ok::<_, lambda_runtime::Error>((f.handler)(&state, event.payload).await) }
            },
        ))
        .await
    })
}
