//! Secrets Manager through the real SDK against the emulator: cached per instance for a TTL measured
//! on the injected clock, masked when printed, and usable as database credentials.

use std::sync::Arc;

use chrono::{Duration, Utc};
use gateway::platform::aws::Aws;
use gateway::platform::secrets::{CACHE_TTL, Secrets};
use gateway::{AppState, Config, Env, ManualClock, SharedClock};
use secrecy::ExposeSecret;

use crate::support::{self, TestDb};

#[tokio::test]
async fn secrets_are_cached_until_the_ttl_passes_on_the_injected_clock() {
    let aws = Aws::load().await;
    let sm = aws.secretsmanager();
    let name = format!("test/{}", support::unique());
    let created = sm.create_secret().name(&name).secret_string("first").send().await.unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let secrets = Secrets::new(sm.clone(), clock.clone() as SharedClock);

    // By ARN and by name.
    assert_eq!(secrets.get(created.arn().unwrap()).await.unwrap().expose_secret(), "first");
    assert_eq!(secrets.get(&name).await.unwrap().expose_secret(), "first");
    let printed = format!("{:?}", secrets.get(&name).await.unwrap());
    assert!(!printed.contains("first"), "a secret must not print its value: {printed}");

    sm.put_secret_value().secret_id(&name).secret_string("rotated").send().await.unwrap();
    clock.advance(CACHE_TTL - Duration::seconds(1));
    assert_eq!(secrets.get(&name).await.unwrap().expose_secret(), "first", "still cached");
    clock.advance(Duration::seconds(2));
    assert_eq!(secrets.get(&name).await.unwrap().expose_secret(), "rotated", "re-read after the TTL");

    let missing = secrets.get("no/such/secret").await.unwrap_err().to_string();
    assert!(missing.contains("no/such/secret"), "{missing}");
}

#[tokio::test]
async fn database_credentials_come_from_a_secret_when_only_a_host_is_configured() {
    let db = TestDb::create().await;
    let sm = Aws::load().await.secretsmanager();
    let name = format!("test/db/{}", support::unique());
    sm.create_secret()
        .name(&name)
        .secret_string(r#"{"username":"gateway_app","password":"local-trust","engine":"postgres"}"#)
        .send()
        .await
        .unwrap();
    let base = std::env::var("GATEWAY_TEST_PG").unwrap();
    let port = base.rsplit(':').next().unwrap().to_owned();
    let env = Env::from_map([
        ("DB_HOST", "127.0.0.1".to_owned()),
        ("DB_PORT", port),
        ("DB_NAME", db.name.clone()),
        ("DB_SECRET_ARN", name),
        ("DB_SSLMODE", "disable".to_owned()),
    ]);
    let clock: SharedClock = Arc::new(ManualClock::new(Utc::now()));
    let state = AppState::new(Config::from_env(&env).unwrap(), clock);
    let conn = state.db().await.unwrap().conn().await.unwrap();
    let user: String = conn.query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
    assert_eq!(user, "gateway_app");
}
