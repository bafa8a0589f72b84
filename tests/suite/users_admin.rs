//! Managing a tenant's users and the tenants themselves: who may grant, change and deactivate
//! whom, platform roles only in the platform tenant, per-tenant names, re-invitations, filters and
//! pagination, and the audit trail of each change.

use serde_json::json;

use crate::world::{PASSWORD, World};

#[tokio::test]
async fn nobody_manages_a_user_who_holds_a_role_they_could_not_grant() {
    let w = World::new().await;
    let a = w.tenant().await;
    let vendor = w.person(a, &["VENDOR_ADMIN"]).await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let clerk = w.person(a, &["VENDOR_USER"]).await;
    let path = |id: uuid::Uuid, rest: &str| format!("/api/v1/users/{id}{rest}");
    // A vendor admin holds users:* but not a tenant admin's permissions.
    let r = w.call("POST", &path(admin.id, "/deactivate"), Some(&vendor.token), None).await;
    assert_eq!(r.problem(403), "forbidden");
    let r =
        w.call("PATCH", &path(admin.id, ""), Some(&vendor.token), Some(json!({"display_name": "x"}))).await;
    assert_eq!(r.problem(403), "forbidden");
    let r = w
        .call(
            "POST",
            "/api/v1/users/invitations",
            Some(&vendor.token),
            Some(json!({"email": "x@example.com", "roles": ["TENANT_ADMIN"]})),
        )
        .await;
    assert_eq!(r.problem(422), "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "not_assignable");
    // Nor replace a pending invitation that grants more than it could.
    let r = w
        .call(
            "POST",
            "/api/v1/users/invitations",
            Some(&admin.token),
            Some(json!({"email": "boss@example.com", "roles": ["TENANT_ADMIN"]})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = w
        .call(
            "POST",
            "/api/v1/users/invitations",
            Some(&vendor.token),
            Some(json!({"email": "boss@example.com", "roles": ["VENDOR_USER"]})),
        )
        .await;
    assert_eq!(r.problem(403), "forbidden");
    // Its own kind it can manage.
    w.call_to("POST", path(clerk.id, "/deactivate")).by(&vendor).expect(200).await;
    // Nobody changes their own roles or deactivates themself.
    let r = w
        .call("PUT", &path(admin.id, "/roles"), Some(&admin.token), Some(json!({"roles": ["SUPER_ADMIN"]})))
        .await;
    assert_eq!(r.problem(403), "forbidden");
    assert_eq!(
        w.call("POST", &path(admin.id, "/deactivate"), Some(&admin.token), None).await.problem(403),
        "forbidden"
    );
}

#[tokio::test]
async fn platform_roles_exist_only_in_the_platform_tenant() {
    let w = World::new().await;
    let a = w.tenant().await;
    let root = w.person(w.platform, &["SUPER_ADMIN"]).await;
    let member = w.person(a, &["TENANT_USER"]).await;
    let acting = [("x-tenant-id", a.to_string())];
    let r = w
        .call_with(
            "PUT",
            &format!("/api/v1/users/{}/roles", member.id),
            Some(&root.token),
            Some(json!({"roles": ["PLATFORM_ADMIN"]})),
            &acting,
        )
        .await;
    assert_eq!(r.problem(422), "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "platform_role");
    // Even a grant that got into a customer tenant some other way confers nothing there.
    let smuggled = w.person(a, &["SUPER_ADMIN"]).await;
    let r = w.call("GET", "/api/v1/tenants", Some(&smuggled.token), None).await;
    assert_eq!(r.problem(403), "forbidden");
    let me = w.call("GET", "/api/v1/auth/me", Some(&smuggled.token), None).await;
    assert_eq!(me.body["roles"], json!([]));
    // In the platform tenant the super admin grants platform roles.
    let staff = w.person(w.platform, &["SUPPORT"]).await;
    let r = w
        .put(format!("/api/v1/users/{}/roles", staff.id), json!({"roles": ["PLATFORM_ADMIN"]}))
        .by(&root)
        .expect(200)
        .await;
    assert_eq!(r["roles"], json!(["PLATFORM_ADMIN"]));
}

#[tokio::test]
async fn deactivation_removes_the_roles_so_a_new_invitation_grants_only_what_it_names() {
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let target = w.person_with(a, &["TENANT_ADMIN"], Some(PASSWORD)).await;
    // A tenant admin deactivates another (it could grant TENANT_ADMIN itself).
    let r = w.call_to("POST", format!("/api/v1/users/{}/deactivate", target.id)).by(&admin).expect(200).await;
    assert_eq!((r["status"].as_str(), r["roles"].clone()), (Some("deactivated"), json!([])));
    assert_eq!(
        w.call("GET", "/api/v1/auth/me", Some(&target.token), None).await.problem(401),
        "unauthenticated"
    );
    // Roles come back only through a new invitation, not by assignment to a dead membership.
    let r = w
        .call(
            "PUT",
            &format!("/api/v1/users/{}/roles", target.id),
            Some(&admin.token),
            Some(json!({"roles": ["TENANT_ADMIN"]})),
        )
        .await;
    assert_eq!(r.problem(409), "not_active");
    w.post("/api/v1/users/invitations", json!({"email": target.email, "roles": ["TENANT_USER"]}))
        .by(&admin)
        .expect(201)
        .await;
    let token = w.emailed_token("invitation").await;
    let r = w.call("POST", "/api/v1/auth/invitations/accept", None, Some(json!({"token": token}))).await;
    assert_eq!(r.status, 200, "an existing user needs no password: {}", r.body);
    assert_eq!(r.body["roles"], json!(["TENANT_USER"]));
    let login = w.login(&target.email, PASSWORD).await;
    assert_eq!(login.body["roles"], json!(["TENANT_USER"]), "the old TENANT_ADMIN did not come back");
    let audit =
        w.db.admin()
            .await
            .query_one(
                "SELECT before, after FROM audit_log WHERE action = 'user.deactivated' AND tenant_id = $1",
                &[&a.as_uuid()],
            )
            .await
            .unwrap();
    let (before, after): (serde_json::Value, serde_json::Value) = (audit.get(0), audit.get(1));
    assert_eq!(before, json!({"status": "active", "roles": ["TENANT_ADMIN"]}));
    assert_eq!(after, json!({"status": "deactivated", "roles": []}));
}

#[tokio::test]
async fn a_tenant_renames_its_view_of_a_user_never_the_user_in_another_tenant() {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let (a_admin, b_admin) = (w.person(a, &["TENANT_ADMIN"]).await, w.person(b, &["TENANT_ADMIN"]).await);
    let shared = w.person(b, &["TENANT_USER"]).await;
    w.join(shared.id, a, &["TENANT_USER"]).await;
    let r = w
        .patch(format!("/api/v1/users/{}", shared.id), json!({"display_name": "Renamed by A"}))
        .by(&a_admin)
        .expect(200)
        .await;
    assert_eq!(r["display_name"], "Renamed by A");
    let in_b = w.call("GET", &format!("/api/v1/users/{}", shared.id), Some(&b_admin.token), None).await;
    assert_eq!(in_b.body["display_name"], "Test Person", "B's view is B's");
    let own = w.call("GET", "/api/v1/auth/me", Some(&shared.token), None).await;
    assert_eq!(own.body["display_name"], "Test Person");
}

#[tokio::test]
async fn user_lists_filter_and_page_and_a_plain_user_sees_only_themself() {
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let mut reps = Vec::new();
    for _ in 0..5 {
        reps.push(w.person(a, &["SALES_REP"]).await.id.to_string());
    }
    let plain = w.person(a, &["TENANT_USER"]).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = w
            .get(format!("/api/v1/users?role=SALES_REP&limit=2&cursor={cursor}"))
            .by(&admin)
            .expect(200)
            .await;
        for u in r["items"].as_array().unwrap() {
            seen.push(u["id"].as_str().unwrap().to_owned());
        }
        match r["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    seen.sort();
    reps.sort();
    assert_eq!(seen, reps, "five reps over three pages, each once");
    let r = w.call("GET", "/api/v1/users?limit=500", Some(&admin.token), None).await;
    assert_eq!(r.problem(422), "validation_failed");
    // A malformed query string is problem+json too, naming what was wrong.
    let r = w.call("GET", "/api/v1/users?limit=abc", Some(&admin.token), None).await;
    assert_eq!(r.problem(422), "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "query");
    let mine = w.call("GET", "/api/v1/users", Some(&plain.token), None).await;
    let ids: Vec<&str> =
        mine.body["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![plain.id.to_string()]);
    let other = w.call("GET", &format!("/api/v1/users/{}", admin.id), Some(&plain.token), None).await;
    assert_eq!(other.problem(404), "not_found");
}

#[tokio::test]
async fn tenants_are_created_listed_updated_and_every_access_is_audited() {
    let w = World::new().await;
    let staff = w.person(w.platform, &["PLATFORM_ADMIN"]).await;
    let t = Some(staff.token.as_str());
    let made = w
        .call(
            "POST",
            "/api/v1/tenants",
            t,
            Some(json!({"slug": "summit-clinic", "name": "Summit", "idle_timeout_minutes": 30})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["idle_timeout_minutes"], 30);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        w.call("POST", "/api/v1/tenants", t, Some(json!({"slug": "summit-clinic", "name": "Again"})))
            .await
            .problem(409),
        "slug_taken"
    );
    let bad = w
        .call("POST", "/api/v1/tenants", t, Some(json!({"slug": "Bad Slug", "name": "", "kind": "bank"})))
        .await;
    assert_eq!(bad.problem(422), "validation_failed");
    assert_eq!(bad.body["errors"].as_array().unwrap().len(), 3, "every bad field named: {}", bad.body);
    let found = w.call("GET", "/api/v1/tenants?q=summ", t, None).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    let patched = w
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{id}"),
            t,
            Some(json!({"name": "Summit West", "idle_timeout_minutes": 45})),
        )
        .await;
    assert_eq!(
        (patched.body["name"].as_str(), patched.body["idle_timeout_minutes"].as_i64()),
        (Some("Summit West"), Some(45))
    );
    assert_eq!(
        w.call("POST", &format!("/api/v1/tenants/{id}/reactivate"), t, Some(json!({}))).await.problem(409),
        "not_suspended"
    );
    assert_eq!(
        w.call("GET", &format!("/api/v1/tenants/{}", uuid::Uuid::now_v7()), t, None).await.problem(404),
        "not_found"
    );
    let tenant: uuid::Uuid = id.parse().unwrap();
    let rows =
        w.db.admin()
            .await
            .query(
                "SELECT action, before, after, actor_user_id FROM audit_log WHERE tenant_id = $1 ORDER BY id",
                &[&tenant],
            )
            .await
            .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(actions, vec!["tenant.created", "tenant.updated"]);
    let before: serde_json::Value = rows[1].get(1);
    assert_eq!(before["name"], "Summit");
    assert!(rows.iter().all(|r| r.get::<_, Option<uuid::Uuid>>(3) == Some(staff.id)));
    assert!(
        w.audit_actions(None).await.contains(&"tenant.listed".to_owned()),
        "reads across tenants are audited too"
    );
}

#[tokio::test]
async fn settings_are_validated_audited_and_take_effect() {
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let t = Some(admin.token.as_str());
    let all = w.call("GET", "/api/v1/settings", t, None).await;
    let keys: Vec<&str> = all.body.as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        vec![
            "session.idle_timeout_minutes",
            "rate_limit.read_per_minute",
            "rate_limit.write_per_minute",
            "orders.serviceable_states",
            "orders.currency",
            "orders.default_payment_source",
            "notifications.operations_emails",
            "payments.capture",
            "orders.stuck_after_minutes",
            "inventory.short_stock",
            "mfa.required_roles"
        ]
    );
    assert!(all.body.as_array().unwrap().iter().all(|s| s["default"] == true));
    for (key, bad) in [
        ("rate_limit.read_per_minute", json!("lots")),
        ("rate_limit.read_per_minute", json!(0)),
        ("session.idle_timeout_minutes", json!(100000)),
        ("mfa.required_roles", json!(["SUPER_ADMIN"])),
        ("mfa.required_roles", json!(["NOPE"])),
        ("orders.currency", json!("usd")),
        ("orders.default_payment_source", json!("token")),
    ] {
        let r = w.call("PUT", &format!("/api/v1/settings/{key}"), t, Some(json!({ "value": bad }))).await;
        assert_eq!(r.problem(422), "validation_failed", "{key} = {bad}");
    }
    assert_eq!(
        w.call("PUT", "/api/v1/settings/no.such", t, Some(json!({"value": 1}))).await.problem(404),
        "not_found"
    );
    let r = w.call("PUT", "/api/v1/settings/rate_limit.read_per_minute", t, Some(json!({"value": 2}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The GET /settings above was read one of this minute (the PUTs were writes): one more fits.
    assert_eq!(w.call("GET", "/api/v1/roles", t, None).await.status, 200);
    assert_eq!(w.call("GET", "/api/v1/roles", t, None).await.problem(429), "rate_limited");
    let user = w.person(a, &["TENANT_USER"]).await;
    let r = w
        .call(
            "PUT",
            "/api/v1/settings/rate_limit.read_per_minute",
            Some(&user.token),
            Some(json!({"value": 9})),
        )
        .await;
    assert_eq!(r.problem(403), "forbidden");
    assert!(w.audit_actions(Some(a)).await.contains(&"tenant.setting_changed".to_owned()));
}

#[tokio::test]
async fn serviceable_states_must_be_state_codes() {
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let put = |v: serde_json::Value| {
        let (w, t) = (&w, admin.token.clone());
        async move {
            w.call(
                "PUT",
                "/api/v1/settings/orders.serviceable_states",
                Some(&t),
                Some(serde_json::json!({ "value": v })),
            )
            .await
        }
    };
    assert_eq!(put(serde_json::json!(["Kentucky"])).await.problem(422), "validation_failed");
    assert_eq!(put(serde_json::json!("KY")).await.problem(422), "validation_failed");
    assert_eq!(put(serde_json::json!(["KY", "CA"])).await.status, 200);
}

#[tokio::test]
async fn an_invitation_answers_alike_whether_or_not_the_person_exists_elsewhere() {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let elsewhere = w.person(b, &["TENANT_ADMIN"]).await;
    let known = w
        .post("/api/v1/users/invitations", json!({"email": elsewhere.email, "roles": ["TENANT_USER"]}))
        .by(&admin)
        .expect(201)
        .await;
    let unknown = w
        .post(
            "/api/v1/users/invitations",
            json!({"email": "nobody.yet@example.com", "roles": ["TENANT_USER"]}),
        )
        .by(&admin)
        .expect(201)
        .await;
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&known), keys(&unknown), "the same shape either way");
    assert!(known.get("user_id").is_none(), "{known}");
    let text = known.to_string();
    for id in [elsewhere.id.to_string(), b.as_uuid().to_string()] {
        assert!(!text.contains(&id), "another tenant's id in the answer: {text}");
    }
    // Nor in the audit entry the inviting tenant keeps.
    let entries = w.get("/api/v1/audit-log?action=user.invited").by(&admin).expect(200).await;
    assert!(!entries.to_string().contains(&elsewhere.id.to_string()), "{entries}");
}
