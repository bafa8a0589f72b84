//! API keys end to end: shown once and stored hashed, accepted as `X-Api-Key` or a bearer token,
//! scoped to permissions no wider than the creator's (at creation and at every use), rotation with
//! an overlap, immediate revocation, expiry, last-used time, one tenant only, and audited.

use chrono::Duration;
use serde_json::{Value, json};

use crate::world::World;

async fn create(w: &World, token: &str, body: Value) -> crate::support::Reply {
    w.call("POST", "/api/v1/api-keys", Some(token), Some(body)).await
}

async fn with_key(
    w: &World,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> crate::support::Reply {
    w.call_with(method, path, None, body, &[("x-api-key", key.to_owned())]).await
}

#[tokio::test]
async fn a_key_works_within_its_permissions_for_its_tenant_only() {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let made =
        create(&w, &admin.token, json!({"name": "shop sync", "permissions": ["users:read", "audit:read"]}))
            .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.body["key"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("rgk_") && made.body["display_prefix"].as_str().unwrap().starts_with("rgk_"));
    // Stored hashed: the secret is nowhere in the database.
    let secret = &key[4 + 32..];
    let dump: String =
        w.db.admin()
            .await
            .query_one("SELECT string_agg(k::text, '') FROM api_keys k", &[])
            .await
            .unwrap()
            .get(0);
    assert!(!dump.contains(secret));
    // Shown once: the list never has it.
    let list = w.call("GET", "/api/v1/api-keys", Some(&admin.token), None).await;
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    assert!(!list.body.to_string().contains(secret));

    // Both ways of presenting it work.
    assert_eq!(with_key(&w, "GET", "/api/v1/users", &key, None).await.status, 200);
    w.get("/api/v1/users").token(&key).expect(200).await;
    // Scope: it may read users, not invite them (though its creator may).
    let invite = with_key(
        &w,
        "POST",
        "/api/v1/users/invitations",
        &key,
        Some(json!({"email": "x@example.com", "roles": ["TENANT_USER"]})),
    )
    .await;
    assert_eq!(invite.problem(403), "forbidden");
    // One tenant: it cannot act for another, nor reach a session route, nor make keys.
    let other = w
        .call_with(
            "GET",
            "/api/v1/users",
            None,
            None,
            &[("x-api-key", key.clone()), ("x-tenant-id", b.to_string())],
        )
        .await;
    assert_eq!(other.problem(403), "forbidden");
    assert_eq!(with_key(&w, "GET", "/api/v1/auth/me", &key, None).await.problem(403), "forbidden");
    let keys_by_key = with_key(
        &w,
        "POST",
        "/api/v1/api-keys",
        &key,
        Some(json!({"name": "x", "permissions": ["users:read"]})),
    )
    .await;
    assert_eq!(keys_by_key.problem(403), "forbidden");
    // Last use recorded; the audit names the key as the actor.
    let listed = w.call("GET", "/api/v1/api-keys", Some(&admin.token), None).await;
    assert!(listed.body["items"][0]["last_used_at"].is_string(), "{}", listed.body);
    let created_by: Vec<(String, Option<uuid::Uuid>)> =
        w.db.admin()
            .await
            .query("SELECT action, actor_key_id FROM audit_log WHERE action LIKE 'api_key.%'", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    assert_eq!(created_by, vec![("api_key.created".to_owned(), None)]);
    for junk in ["rgk_", "rgk_not-a-key", &format!("{}x", &key[..key.len() - 1])] {
        assert_eq!(
            with_key(&w, "GET", "/api/v1/users", junk, None).await.problem(401),
            "unauthenticated",
            "{junk}"
        );
    }
}

#[tokio::test]
async fn a_key_is_never_wider_than_its_creator_then_or_later() {
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let wide = create(
        &w,
        &admin.token,
        json!({"name": "x", "permissions": ["tenants:create:all", "users:read", "nonsense"]}),
    )
    .await;
    assert_eq!(wide.problem(422), "validation_failed");
    let codes: Vec<&str> =
        wide.body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["cross_tenant", "invalid"]);
    let user = w.person(a, &["TENANT_USER"]).await;
    assert_eq!(
        create(&w, &user.token, json!({"name": "x", "permissions": ["orders:read"]})).await.problem(403),
        "forbidden"
    );
    // A key made by a second admin loses what that admin loses.
    let maker = w.person(a, &["TENANT_ADMIN"]).await;
    let made = create(&w, &maker.token, json!({"name": "x", "permissions": ["users:read"]})).await;
    let key = made.body["key"].as_str().unwrap().to_owned();
    assert_eq!(with_key(&w, "GET", "/api/v1/users", &key, None).await.status, 200);
    w.put(format!("/api/v1/users/{}/roles", maker.id), json!({"roles": ["SALES_REP"]}))
        .by(&admin)
        .expect(200)
        .await;
    assert_eq!(with_key(&w, "GET", "/api/v1/users", &key, None).await.problem(403), "forbidden");
    // And stops with the maker's membership.
    w.call("POST", &format!("/api/v1/users/{}/deactivate", maker.id), Some(&admin.token), None).await;
    assert_eq!(with_key(&w, "GET", "/api/v1/users", &key, None).await.problem(401), "unauthenticated");
}

#[tokio::test]
async fn rotation_overlaps_for_the_grace_period_and_revocation_is_immediate() {
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let made = create(&w, &admin.token, json!({"name": "erp", "permissions": ["users:read"]})).await;
    let (old, id) =
        (made.body["key"].as_str().unwrap().to_owned(), made.body["id"].as_str().unwrap().to_owned());
    let rotated = w
        .call(
            "POST",
            &format!("/api/v1/api-keys/{id}/rotate"),
            Some(&admin.token),
            Some(json!({"grace_seconds": 3600})),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let new = rotated.body["key"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(rotated.body["permissions"], json!(["users:read:tenant"]));
    for k in [&old, &new] {
        assert_eq!(
            with_key(&w, "GET", "/api/v1/users", k, None).await.status,
            200,
            "both work during the grace period"
        );
    }
    let again =
        w.call("POST", &format!("/api/v1/api-keys/{id}/rotate"), Some(&admin.token), Some(json!({}))).await;
    assert_eq!(again.problem(409), "not_active");
    w.clock.advance(Duration::seconds(3601));
    assert_eq!(with_key(&w, "GET", "/api/v1/users", &old, None).await.problem(401), "unauthenticated");
    assert_eq!(with_key(&w, "GET", "/api/v1/users", &new, None).await.status, 200);
    // Revocation: at once (the admin signs in again: an hour has passed).
    let admin = w.mint(admin.id, a).await.access_token;
    let new_id = rotated.body["id"].as_str().unwrap();
    assert_eq!(w.call("DELETE", &format!("/api/v1/api-keys/{new_id}"), Some(&admin), None).await.status, 204);
    let refused = with_key(&w, "GET", "/api/v1/users", &new, None).await;
    assert_eq!(refused.problem(401), "unauthenticated");
    assert!(refused.body["detail"].as_str().unwrap().contains("revoked"));
    let active = w.call("GET", "/api/v1/api-keys", Some(&admin), None).await;
    assert_eq!(active.body["items"], json!([]));
    let all = w.call("GET", "/api/v1/api-keys?status=all", Some(&admin), None).await;
    let statuses: Vec<&str> =
        all.body["items"].as_array().unwrap().iter().map(|k| k["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["revoked", "revoked"]);
    let actions: Vec<String> =
        w.audit_actions(Some(a)).await.into_iter().filter(|a| a.starts_with("api_key.")).collect();
    assert_eq!(actions, vec!["api_key.created", "api_key.rotated", "api_key.revoked"]);
}

#[tokio::test]
async fn a_key_expires_on_the_clock() {
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let at = gateway::Clock::now(&*w.clock) + Duration::hours(1);
    let past = create(&w, &admin.token, json!({"name": "x", "permissions": ["users:read"], "expires_at": gateway::Clock::now(&*w.clock) - Duration::hours(1)})).await;
    assert_eq!(past.problem(422), "validation_failed");
    let made =
        create(&w, &admin.token, json!({"name": "x", "permissions": ["users:read"], "expires_at": at})).await;
    let key = made.body["key"].as_str().unwrap().to_owned();
    assert_eq!(with_key(&w, "GET", "/api/v1/users", &key, None).await.status, 200);
    w.clock.advance(Duration::hours(1));
    let expired = with_key(&w, "GET", "/api/v1/users", &key, None).await;
    assert_eq!(expired.problem(401), "unauthenticated");
    assert!(expired.body["detail"].as_str().unwrap().contains("expired"));
}
