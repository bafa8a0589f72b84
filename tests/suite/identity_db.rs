//! The database enforces tenancy on its own, whatever the code does: the HTTP role owns nothing and
//! cannot bypass RLS, every tenant-scoped table forces RLS, with no tenant set nothing is visible,
//! and with tenant A set B's rows are invisible and cannot be written. Also: the roles table
//! mirrors the role matrix in code.

use gateway::identity::roles::ROLES;
use gateway::platform::tenant::TenantId;
use serde_json::json;

use crate::world::{PASSWORD, World};

/// Two tenants with a person each, an invitation, an audit entry, and an outbox event each.
async fn populated() -> (World, TenantId, TenantId) {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    for t in [a, b] {
        let admin = w.person(t, &["TENANT_ADMIN"]).await;
        let invite =
            json!({"email": format!("i{}@example.com", crate::support::unique()), "roles": ["TENANT_USER"]});
        w.post("/api/v1/users/invitations", invite).by(&admin).expect(201).await;
    }
    (w, a, b)
}

/// Tables with a tenant_id column that the HTTP role may read (exception_records is append-only
/// for it).
async fn tenant_tables(w: &World) -> Vec<String> {
    w.db.admin()
        .await
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
              WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
                AND has_table_privilege('gateway_app', c.oid, 'SELECT') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn the_http_role_owns_nothing_and_every_tenant_table_forces_rls() {
    let (w, _, _) = populated().await;
    let admin = w.db.admin().await;
    let owned: i64 = admin
        .query_one(
            "SELECT (SELECT count(*) FROM pg_class WHERE relowner = 'gateway_app'::regrole)
                  + (SELECT count(*) FROM pg_proc WHERE proowner = 'gateway_app'::regrole)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(owned, 0, "gateway_app owns no table, view, sequence or function");
    let memberships: i64 = admin
        .query_one("SELECT count(*) FROM pg_auth_members WHERE member = 'gateway_app'::regrole", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(memberships, 0, "gateway_app inherits no other role (gateway_ops, gateway_identity, ...)");
    let bypass: bool = admin
        .query_one("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = 'gateway_app'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!bypass);
    let tables = tenant_tables(&w).await;
    for t in
        ["tenant_users", "role_grants", "sessions", "refresh_tokens", "invitations", "audit_log", "outbox"]
    {
        assert!(tables.contains(&t.to_owned()), "{t} is tenant-scoped");
    }
    let weak: Vec<String> = admin
        .query(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace
                AND relname = ANY($1) AND NOT (relrowsecurity AND relforcerowsecurity)",
            &[&tables],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(weak.is_empty(), "without forced RLS: {weak:?}");
    // The global identity tables are protected too.
    for t in ["users", "password_resets", "login_attempts"] {
        let forced: bool = admin
            .query_one(
                "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = $1",
                &[&t],
            )
            .await
            .unwrap()
            .get(0);
        assert!(forced, "{t}");
    }
}

#[tokio::test]
async fn with_no_tenant_nothing_is_visible_and_with_a_set_b_is_invisible_and_unwritable() {
    let (w, a, b) = populated().await;
    let tables = tenant_tables(&w).await;
    let admin = w.db.admin().await;
    let app = w.db.app().await;
    for t in &tables {
        let n: i64 = app.query_one(&format!("SELECT count(*) FROM {t}"), &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "{t}: rows visible with no tenant set");
    }
    for t in ["users", "password_resets"] {
        let n: i64 = app.query_one(&format!("SELECT count(id) FROM {t}"), &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "{t}: rows visible with no tenant or user set");
    }
    // Login attempts are write-only for the HTTP role.
    let denied = app.query("SELECT 1 FROM login_attempts", &[]).await.unwrap_err();
    assert!(denied.as_db_error().is_some_and(|d| d.message().contains("permission denied")), "{denied:?}");
    let mut app = app;
    let mut with_rows = Vec::new();
    for t in &tables {
        let in_b: i64 = admin
            .query_one(&format!("SELECT count(*) FROM {t} WHERE tenant_id = $1"), &[&b.as_uuid()])
            .await
            .unwrap()
            .get(0);
        let tx = app.transaction().await.unwrap();
        tx.execute("SELECT set_config('app.tenant_id', $1, true)", &[&a.to_string()]).await.unwrap();
        let seen: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {t} WHERE tenant_id = $1"), &[&b.as_uuid()])
            .await
            .unwrap()
            .get(0);
        let own: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {t} WHERE tenant_id = $1"), &[&a.as_uuid()])
            .await
            .unwrap()
            .get(0);
        tx.rollback().await.unwrap();
        if in_b > 0 {
            with_rows.push(t.as_str());
            assert!(own > 0, "{t}: A's own rows are visible (the check can fail)");
        }
        assert_eq!(seen, 0, "{t}: tenant A sees {seen} of B's {in_b} rows");
    }
    assert_eq!(
        with_rows,
        ["audit_log", "invitations", "outbox", "refresh_tokens", "role_grants", "sessions", "tenant_users"],
        "the tables B has rows in: each checked both ways"
    );

    // Writes for B under A's scope fail or touch nothing.
    for sql in [
        "INSERT INTO audit_log (id, tenant_id, actor_kind, action, target_type, occurred_at)
         VALUES (gen_random_uuid(), $1, 'system', 'x.y', 't', now())",
        "INSERT INTO tenant_settings (tenant_id, key, value) VALUES ($1, 'x.y', '1')",
        "UPDATE sessions SET revoked_at = now() WHERE tenant_id = $1",
    ] {
        let tx = app.transaction().await.unwrap();
        tx.execute("SELECT set_config('app.tenant_id', $1, true)", &[&a.to_string()]).await.unwrap();
        let r = tx.execute(sql, &[&b.as_uuid()]).await;
        match r {
            Ok(n) => assert_eq!(n, 0, "{sql}"),
            Err(e) => {
                assert!(e.as_db_error().is_some_and(|d| d.message().contains("row-level security")), "{e:?}")
            }
        }
        drop(tx);
    }
    let revoked: i64 = admin
        .query_one(
            "SELECT count(*) FROM sessions WHERE tenant_id = $1 AND revoked_at IS NOT NULL",
            &[&b.as_uuid()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(revoked, 0);
}

#[tokio::test]
async fn a_tenant_reads_its_members_but_never_writes_a_user_row_or_reads_a_password_hash() {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let in_a = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    let only_b = w.person(b, &["TENANT_USER"]).await;
    let mut app = w.db.app().await;
    let tx = app.transaction().await.unwrap();
    tx.execute("SELECT set_config('app.tenant_id', $1, true)", &[&a.to_string()]).await.unwrap();
    let visible: Vec<uuid::Uuid> =
        tx.query("SELECT id FROM users", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(visible, vec![in_a.id], "A sees its member, not B's");
    let n = tx.execute("UPDATE users SET display_name = 'x' WHERE id = $1", &[&in_a.id]).await.unwrap();
    assert_eq!(n, 0, "a tenant cannot write its member's (shared) user row");
    let n = tx.execute("UPDATE users SET display_name = 'x' WHERE id = $1", &[&only_b.id]).await.unwrap();
    assert_eq!(n, 0);
    tx.rollback().await.unwrap();
    let tx = app.transaction().await.unwrap();
    tx.execute("SELECT set_config('app.tenant_id', $1, true)", &[&a.to_string()]).await.unwrap();
    let hash = tx.query("SELECT password_hash FROM users", &[]).await.unwrap_err();
    assert!(hash.as_db_error().is_some_and(|d| d.message().contains("permission denied")), "{hash:?}");
    drop(tx);
    // The user themself writes their own row (password set or reset), and only their own.
    let tx = app.transaction().await.unwrap();
    tx.execute("SELECT set_config('app.user_id', $1, true)", &[&in_a.id.to_string()]).await.unwrap();
    assert_eq!(
        tx.execute("UPDATE users SET display_name = 'Me' WHERE id = $1", &[&in_a.id]).await.unwrap(),
        1
    );
    assert_eq!(
        tx.execute("UPDATE users SET display_name = 'Me' WHERE id = $1", &[&only_b.id]).await.unwrap(),
        0
    );
    let email = tx
        .execute("UPDATE users SET email = 'evil@example.com' WHERE id = $1", &[&in_a.id])
        .await
        .unwrap_err();
    assert!(email.as_db_error().is_some_and(|d| d.message().contains("permission denied")), "{email:?}");
}

#[tokio::test]
async fn the_roles_table_mirrors_the_matrix_in_code() {
    let w = World::new().await;
    let rows =
        w.db.admin()
            .await
            .query(
                "SELECT r.code, r.read_only, array_agg(p.permission ORDER BY p.permission)
               FROM roles r JOIN role_permissions p ON p.role_code = r.code GROUP BY 1, 2 ORDER BY 1",
                &[],
            )
            .await
            .unwrap();
    let db: Vec<(String, bool, Vec<String>)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let mut code: Vec<(String, bool, Vec<String>)> = ROLES
        .iter()
        .map(|r| {
            let mut p: Vec<String> = r.permissions.iter().map(|s| s.to_string()).collect();
            p.sort();
            (r.code.to_owned(), r.read_only, p)
        })
        .collect();
    code.sort();
    assert_eq!(db, code);
    let api =
        w.call("GET", "/api/v1/roles", Some(&w.person(w.platform, &["AUDITOR"]).await.token), None).await;
    assert_eq!(api.status, 200);
    assert_eq!(api.body.as_array().unwrap().len(), 18);
}
