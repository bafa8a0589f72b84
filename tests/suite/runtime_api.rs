//! The real binaries under the Lambda Runtime API protocol (the emulator in
//! `gateway_functions::local::lambda_rie`): what `scripts/invoke` runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use gateway::platform::db::scoped_tx;
use gateway::platform::events;
use gateway::platform::tenant::TenantId;
use gateway::{AppState, Config, Env};
use gateway_functions::local::{self, lambda_rie};

use crate::support::{self, TestDb};

const RELAY: &str = env!("CARGO_BIN_EXE_outbox-relay");

/// Runs `binary` once with `events/<event_file>` and the given environment.
async fn invoke(
    binary: &str,
    function: &str,
    event_file: &str,
    env: &BTreeMap<String, String>,
) -> lambda_rie::Invocation {
    let event: serde_json::Value = serde_json::from_slice(
        &std::fs::read(local::repo_root().join(format!("events/{event_file}"))).unwrap(),
    )
    .unwrap();
    lambda_rie::invoke(Path::new(binary), function, &event, env, Duration::from_secs(60)).await.unwrap()
}

/// A fresh database with one tenant and a provisioned private stack, as the relay sees it.
async fn relay_stack() -> (TestDb, Env, TenantId) {
    let db = TestDb::create().await;
    let name = format!("t{}", support::unique());
    support::provision_stack(&name).await;
    let env =
        support::stack_env(&name, &[("DATABASE_URL", db.app_url()), ("DATABASE_OPS_URL", db.ops_url())]);
    let tenant = TenantId::new();
    db.admin()
        .await
        .execute(
            "INSERT INTO tenants (id, slug, name) VALUES ($1, 'relay-test', 'Relay Test')",
            &[&tenant.as_uuid()],
        )
        .await
        .unwrap();
    (db, env, tenant)
}

fn vars(env: &Env) -> BTreeMap<String, String> {
    env.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

#[tokio::test]
async fn the_health_binary_answers_an_api_gateway_event_under_the_runtime_api() {
    let env = BTreeMap::from([("STAGE".to_owned(), "local".to_owned())]);
    let inv = invoke(env!("CARGO_BIN_EXE_health"), "health", "health.json", &env).await;
    let response = inv.result.unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    // The Lambda request id becomes the request id the API reports.
    let headers = &response["headers"];
    assert!(headers["x-request-id"].as_str().is_some_and(|id| !id.is_empty()), "{response}");
    assert!(inv.init <= inv.total);
}

#[tokio::test]
async fn the_outbox_relay_binary_publishes_pending_events_when_its_schedule_fires() {
    let (db, env, tenant) = relay_stack().await;
    // One committed, unpublished event.
    let state = AppState::new(Config::from_env(&env).unwrap(), std::sync::Arc::new(gateway::SystemClock));
    let mut conn = state.db().await.unwrap().conn().await.unwrap();
    let tx = scoped_tx(&mut conn, Some(tenant), None).await.unwrap();
    let request = gateway::notifications::EmailRequested {
        to: "relay@clinic.example".into(),
        template: gateway::notifications::EmailTemplate::Notice,
        params: serde_json::json!({"subject": "s", "text": "t"}).as_object().cloned().unwrap(),
    };
    let recorded = events::record(&*tx, Some(tenant), state.clock().as_ref(), &request).await.unwrap();
    tx.commit().await.unwrap();

    let inv = invoke(RELAY, "outbox-relay", "outbox-relay.json", &vars(&env)).await;
    assert_eq!(inv.result.unwrap(), serde_json::json!({"published": 1, "failed": 0}));
    let published: Option<chrono::DateTime<chrono::Utc>> = db
        .admin()
        .await
        .query_one("SELECT published_at FROM outbox WHERE id = $1", &[&recorded.id])
        .await
        .unwrap()
        .get(0);
    assert!(published.is_some());
    // Nothing left: a second run publishes nothing.
    let again = invoke(RELAY, "outbox-relay", "outbox-relay.json", &vars(&env)).await;
    assert_eq!(again.result.unwrap()["published"], 0);
}

#[tokio::test]
async fn the_relay_without_database_settings_answers_an_error_naming_the_variable() {
    let env = BTreeMap::from([("EVENT_BUS_NAME".to_owned(), "nowhere".to_owned())]);
    let err = invoke(RELAY, "outbox-relay", "outbox-relay.json", &env).await.result.unwrap_err();
    assert!(err.to_string().contains("DATABASE_OPS_URL"), "{err}");
}

#[tokio::test]
async fn two_relay_processes_at_once_publish_each_event_once() {
    let (db, env, tenant) = relay_stack().await;
    let admin = db.admin().await;
    // 250 committed, unpublished events: more than one run claims (100), so two runs at once
    // must split the rows between them.
    admin
        .execute(
            "INSERT INTO outbox (id, tenant_id, event_type, event_version, occurred_at, data, next_attempt_at)
             SELECT gen_random_uuid(), $1, 'test.counted', 1, now(), jsonb_build_object('n', g), now()
             FROM generate_series(1, 250) g",
            &[&tenant.as_uuid()],
        )
        .await
        .unwrap();
    let vars = vars(&env);
    let (a, b) = tokio::join!(
        invoke(RELAY, "outbox-relay", "outbox-relay.json", &vars),
        invoke(RELAY, "outbox-relay", "outbox-relay.json", &vars),
    );
    let published = |r: lambda_rie::Invocation| r.result.unwrap()["published"].as_u64().unwrap();
    assert_eq!(published(a) + published(b), 200, "each run published a full claim");
    // Had both runs claimed the same rows, fewer than 200 distinct rows would be marked.
    let left: i64 =
        admin.query_one("SELECT count(*) FROM outbox WHERE published_at IS NULL", &[]).await.unwrap().get(0);
    assert_eq!(left, 50, "200 distinct events published, each by exactly one relay");
}

#[tokio::test]
async fn a_misconfigured_consumer_fails_at_cold_start_instead_of_dead_lettering_mail() {
    // Mailbox sender without its folder: the binary must not start taking messages.
    let env = BTreeMap::from([("EMAIL_SENDER".to_owned(), "mailbox".to_owned())]);
    let event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(local::repo_root().join("events/notify-email.json")).unwrap())
            .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_notify-email"));
    let err =
        lambda_rie::invoke(bin, "notify-email", &event, &env, Duration::from_secs(30)).await.unwrap_err();
    assert!(err.to_string().contains("exited"), "{err}");
    // The check names the variable.
    let cfg = gateway::notifications::SenderConfig::from_env(&Env::from_map([("EMAIL_SENDER", "mailbox")]));
    assert!(cfg.unwrap_err().to_string().contains("MAILBOX_DIR"));
}
