//! Migrations: the migrate function's handler applies them to an empty database, once.

use gateway::registry::MIGRATE;
use gateway::{AppState, Env};

use crate::support::TestDb;

#[tokio::test]
async fn migrate_applies_pending_migrations_once() {
    let db = TestDb::create_empty().await;
    let state = AppState::from_env(&Env::from_map([("DATABASE_ADMIN_URL", db.admin_url())])).unwrap();
    let first = (MIGRATE.handler)(&state, serde_json::json!({})).await.unwrap();
    let applied = first["applied"].as_array().unwrap();
    assert!(applied.iter().any(|m| m.as_str().unwrap().contains("platform")), "{first}");
    let second = (MIGRATE.handler)(&state, serde_json::json!({})).await.unwrap();
    assert_eq!(second["applied"], serde_json::json!([]));
    let tables = db
        .admin()
        .await
        .query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('tenants', 'tenant_settings')", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(tables, 2);
}

#[tokio::test]
async fn migrate_without_admin_settings_names_the_missing_variable() {
    let state = AppState::from_env(&Env::default()).unwrap();
    let err = (MIGRATE.handler)(&state, serde_json::json!({})).await.unwrap_err();
    assert!(err.to_string().contains("DATABASE_ADMIN_URL"), "{err}");
}
