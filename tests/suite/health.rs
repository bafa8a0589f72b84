//! Liveness and readiness through the same router the local runner serves.

use std::sync::Arc;

use gateway::{AppState, Config, SystemClock};
use gateway_functions::local;

use crate::support::{self, get};

#[tokio::test]
async fn health_reports_version_and_build() {
    let s = support::stack().await;
    let r = get(&s.router, "/api/v1/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
    assert!(r.body["build"]["build"].is_string());
    assert_eq!(r.body["stage"], "local");
}

#[tokio::test]
async fn ready_is_200_when_every_dependency_answers() {
    let s = support::stack().await;
    let r = get(&s.router, "/api/v1/health/ready").await;
    assert_eq!(r.status, 200, "{}", r.body);
    for dep in ["postgres", "dynamodb", "sqs", "eventbridge"] {
        assert_eq!(r.body["checks"][dep]["status"], "ok", "{dep}: {}", r.body);
    }
}

#[tokio::test]
async fn ready_is_503_naming_postgres_when_postgres_is_down() {
    let name = format!("t{}", support::unique());
    support::provision_stack(&name).await;
    // Nothing listens on port 1: the database is down, everything else is up.
    let env =
        support::stack_env(&name, &[("DATABASE_URL", "postgresql://gateway_app@127.0.0.1:1/gateway".into())]);
    let state = AppState::new(Config::from_env(&env).unwrap(), Arc::new(SystemClock));
    let router = local::router(&state).await.unwrap();
    let r = get(&router, "/api/v1/health/ready").await;
    assert_eq!(r.problem(503), "dependency_unavailable");
    assert_eq!(r.body["checks"]["postgres"]["status"], "failed");
    assert_eq!(r.body["checks"]["postgres"]["error"], "unreachable");
    for dep in ["dynamodb", "sqs", "eventbridge"] {
        assert_eq!(r.body["checks"][dep]["status"], "ok", "{dep}: {}", r.body);
    }
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("postgres") && !detail.contains("dynamodb"), "{detail}");
}

#[tokio::test]
async fn ready_names_every_aws_dependency_that_is_missing() {
    // Not provisioned: the table and the bus do not exist in the emulator.
    let s = support::stack_with(Arc::new(SystemClock), false).await;
    let r = get(&s.router, "/api/v1/health/ready").await;
    assert_eq!(r.problem(503), "dependency_unavailable");
    assert_eq!(r.body["checks"]["postgres"]["status"], "ok");
    assert_eq!(r.body["checks"]["dynamodb"]["status"], "failed");
    assert_eq!(r.body["checks"]["eventbridge"]["status"], "failed");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("dynamodb") && detail.contains("eventbridge"), "{detail}");
}
