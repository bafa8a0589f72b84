//! Migrations: the migrate function's handler applies them to an empty database, once.

use gateway::registry::MIGRATE;
use gateway::{AppState, Env};
use gateway_functions::local::repo_root;

use crate::support::TestDb;

#[tokio::test]
async fn migrate_applies_pending_migrations_once() {
    let db = TestDb::create_empty().await;
    let state = AppState::from_env(&Env::from_map([("DATABASE_ADMIN_URL", db.admin_url())])).unwrap();
    let first = (MIGRATE.handler)(&state, serde_json::json!({})).await.unwrap();
    // Every migration of infra/migrations, in version order.
    let mut files: Vec<(u32, String)> = std::fs::read_dir(repo_root().join("infra/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|f| f.strip_suffix(".sql").map(str::to_owned))
        .map(|stem| (stem[1..stem.find("__").unwrap()].parse().unwrap(), stem))
        .collect();
    files.sort();
    let files: Vec<String> = files.into_iter().map(|(_, stem)| stem).collect();
    assert_eq!(first["applied"], serde_json::json!(files), "{first}");
    let second = (MIGRATE.handler)(&state, serde_json::json!({})).await.unwrap();
    assert_eq!(second["applied"], serde_json::json!([]));
    // The schema holds exactly the tables the migrations create.
    let mut all_created: Vec<String> = Vec::new();
    for stem in &files {
        let sql = std::fs::read_to_string(repo_root().join(format!("infra/migrations/{stem}.sql"))).unwrap();
        all_created.extend(
            sql.split("CREATE TABLE ").skip(1).map(|rest| rest.split_whitespace().next().unwrap().to_owned()),
        );
    }
    all_created.sort();
    let mut tables: Vec<String> = db
        .admin()
        .await
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'
                AND tablename <> 'refinery_schema_history'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables.sort();
    assert_eq!(all_created, tables);
}

#[tokio::test]
async fn migrate_without_admin_settings_names_the_missing_variable() {
    let state = AppState::from_env(&Env::default()).unwrap();
    let err = (MIGRATE.handler)(&state, serde_json::json!({})).await.unwrap_err();
    assert!(err.to_string().contains("DATABASE_ADMIN_URL"), "{err}");
}
