//! Row-level security: a transaction scoped to one tenant cannot read, change or create another
//! tenant's rows, and the application role cannot switch the protection off.

use gateway::Env;
use gateway::platform::config::{DbConfig, DbRole};
use gateway::platform::db::{Db, scoped_tx};
use gateway::platform::tenant::TenantId;

use crate::support::TestDb;

async fn two_tenants(db: &TestDb) -> (TenantId, TenantId) {
    let (a, b) = (TenantId::new(), TenantId::new());
    let admin = db.admin().await;
    for (id, slug) in [(a, "tenant-a"), (b, "tenant-b")] {
        admin
            .execute("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $2)", &[&id.as_uuid(), &slug])
            .await
            .unwrap();
        admin
            .execute(
                "INSERT INTO tenant_settings (tenant_id, key, value) VALUES ($1, 'brand.color', to_jsonb($2::text))",
                &[&id.as_uuid(), &slug],
            )
            .await
            .unwrap();
    }
    (a, b)
}

fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| e.to_string())
}

async fn app_pool(db: &TestDb) -> Db {
    let cfg = DbConfig::from_env(&Env::from_map([("DATABASE_URL", db.app_url())]), DbRole::App).unwrap();
    Db::connect(&cfg, None).await.unwrap()
}

#[tokio::test]
async fn tenant_scoped_transaction_cannot_read_another_tenants_rows() {
    let db = TestDb::create().await;
    let (a, b) = two_tenants(&db).await;
    let pool = app_pool(&db).await;
    let mut conn = pool.conn().await.unwrap();

    let tx = scoped_tx(&mut conn, Some(a), None).await.unwrap();
    let rows = tx.query("SELECT tenant_id, value->>0 FROM tenant_settings", &[]).await.unwrap();
    let seen: Vec<uuid::Uuid> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(seen, vec![a.as_uuid()], "only tenant A's settings are visible");
    let tenants = tx.query("SELECT id FROM tenants", &[]).await.unwrap();
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].get::<_, uuid::Uuid>(0), a.as_uuid());
    // Asking for B's rows by id finds nothing, rather than an error that would confirm they exist.
    let by_id =
        tx.query("SELECT 1 FROM tenant_settings WHERE tenant_id = $1", &[&b.as_uuid()]).await.unwrap();
    assert!(by_id.is_empty());
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn tenant_scoped_transaction_cannot_change_or_create_another_tenants_rows() {
    let db = TestDb::create().await;
    let (a, b) = two_tenants(&db).await;
    let pool = app_pool(&db).await;
    let mut conn = pool.conn().await.unwrap();

    let tx = scoped_tx(&mut conn, Some(a), None).await.unwrap();
    let updated = tx
        .execute("UPDATE tenant_settings SET value = '\"pwned\"' WHERE tenant_id = $1", &[&b.as_uuid()])
        .await
        .unwrap();
    assert_eq!(updated, 0);
    let deleted =
        tx.execute("DELETE FROM tenant_settings WHERE tenant_id = $1", &[&b.as_uuid()]).await.unwrap();
    assert_eq!(deleted, 0);
    let insert = tx
        .execute("INSERT INTO tenant_settings (tenant_id, key, value) VALUES ($1, 'x', '1')", &[&b.as_uuid()])
        .await;
    let err = insert.expect_err("writing a row for another tenant must fail");
    assert!(db_message(&err).contains("row-level security"), "{err:?}");
    drop(tx);

    let admin = db.admin().await;
    let b_value: String = admin
        .query_one("SELECT value->>0 FROM tenant_settings WHERE tenant_id = $1", &[&b.as_uuid()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(b_value, "tenant-b", "tenant B's row is untouched");
}

#[tokio::test]
async fn without_a_tenant_nothing_is_visible_and_the_scope_ends_with_the_transaction() {
    let db = TestDb::create().await;
    let (a, _) = two_tenants(&db).await;
    let pool = app_pool(&db).await;
    let mut conn = pool.conn().await.unwrap();
    let none = conn.query("SELECT 1 FROM tenant_settings", &[]).await.unwrap();
    assert!(none.is_empty(), "no tenant set: no rows");

    let tx = scoped_tx(&mut conn, Some(a), None).await.unwrap();
    assert_eq!(tx.query("SELECT 1 FROM tenant_settings", &[]).await.unwrap().len(), 1);
    tx.commit().await.unwrap();
    // The same pooled connection, after the transaction: the tenant setting is gone.
    let after = conn.query("SELECT 1 FROM tenant_settings", &[]).await.unwrap();
    assert!(after.is_empty(), "the tenant scope must not outlive its transaction");
}

#[tokio::test]
async fn the_application_role_cannot_bypass_row_level_security() {
    let db = TestDb::create().await;
    two_tenants(&db).await;
    let app = db.app().await;
    let role = app
        .query_one("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user", &[])
        .await
        .unwrap();
    assert_eq!((role.get::<_, bool>(0), role.get::<_, bool>(1)), (false, false));
    let disable = app.batch_execute("ALTER TABLE tenant_settings DISABLE ROW LEVEL SECURITY").await;
    assert!(db_message(&disable.unwrap_err()).contains("must be owner"));
    // row_security = off makes a query fail rather than silently bypass the policy.
    app.batch_execute("SET row_security = off").await.unwrap();
    let err = app.query("SELECT * FROM tenant_settings", &[]).await.unwrap_err();
    assert!(db_message(&err).contains("row-level security"), "{err:?}");
    // Every table that has tenant_id has RLS enabled and forced.
    let unprotected = db
        .admin()
        .await
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
             WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
               AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<String> = unprotected.iter().map(|r| r.get(0)).collect();
    assert!(names.is_empty(), "tenant tables without forced RLS: {names:?}");
}
