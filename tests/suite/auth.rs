//! Authentication end to end through the routes: login (one answer for unknown email and wrong
//! password, lockout), the JWT attack set, refresh rotation and reuse, logout, idle expiry on the
//! injected clock, tenant switching, invitations and password resets (single use, expiring),
//! suspended tenants, and platform admins acting for a tenant.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use gateway::identity::passwords;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::world::{PASSWORD, World};

fn without_request_id(mut v: Value) -> Value {
    v.as_object_mut().map(|o| o.remove("request_id"));
    v
}

#[tokio::test]
async fn login_answers_unknown_email_and_wrong_password_alike_and_both_run_argon2() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;

    let before = passwords::verifications();
    let wrong = w.login(&p.email, "not the password at all").await;
    let after_wrong = passwords::verifications();
    let unknown = w.login("nobody-here@example.com", "not the password at all").await;
    let after_unknown = passwords::verifications();
    assert_eq!(wrong.problem(401), "invalid_credentials");
    assert_eq!(unknown.problem(401), "invalid_credentials");
    assert_eq!(without_request_id(wrong.body), without_request_id(unknown.body), "one answer for both");
    assert_eq!(
        (after_wrong - before, after_unknown - after_wrong),
        (1, 1),
        "each path runs one argon2 verification"
    );

    let ok = w.login(&p.email.to_uppercase(), PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["tenant_id"], a.to_string());
    assert_eq!(ok.body["expires_in"], 900);
    assert_eq!(ok.body["roles"], json!(["TENANT_USER"]));
    let me = w.call("GET", "/api/v1/auth/me", ok.body["access_token"].as_str(), None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["email"], p.email);
    assert!(me.body["permissions"].as_array().unwrap().contains(&json!("orders:create:tenant")));
    assert!(w.audit_actions(Some(a)).await.contains(&"session.login".to_owned()));

    let bad = w.login("not-an-email", "x").await;
    assert_eq!(bad.problem(422), "validation_failed");
}

#[tokio::test]
async fn repeated_failures_lock_progressively_and_the_lock_lapses_on_the_clock() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    for _ in 0..5 {
        assert_eq!(w.login(&p.email, "wrong password here").await.problem(401), "invalid_credentials");
    }
    // Locked: even the right password is refused, with an honest Retry-After.
    let locked = w.login(&p.email, PASSWORD).await;
    assert_eq!(locked.problem(429), "too_many_attempts");
    assert_eq!(locked.headers["retry-after"], "60");
    w.clock.advance(Duration::seconds(61));
    assert_eq!(w.login(&p.email, "wrong password again").await.problem(401), "invalid_credentials");
    let longer = w.login(&p.email, PASSWORD).await;
    assert_eq!(longer.problem(429), "too_many_attempts");
    assert_eq!(longer.headers["retry-after"], "120", "the lock doubles");
    w.clock.advance(Duration::seconds(121));
    assert_eq!(w.login(&p.email, PASSWORD).await.status, 200);
    // A success resets the count.
    assert_eq!(w.login(&p.email, "wrong password").await.problem(401), "invalid_credentials");
    assert_eq!(w.login(&p.email, PASSWORD).await.status, 200);

    // An unknown email locks the same way, so the lock does not reveal who exists.
    for _ in 0..5 {
        w.login("ghost@example.com", "whatever it is").await;
    }
    assert_eq!(w.login("ghost@example.com", "whatever it is").await.problem(429), "too_many_attempts");
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn the_jwt_attack_set_is_refused() {
    let w = World::new().await;
    let a = w.tenant().await;
    // A long idle limit, so expiry below is the token's own, not the session's.
    w.db.admin()
        .await
        .execute(
            "INSERT INTO tenant_settings (tenant_id, key, value) VALUES ($1, 'session.idle_timeout_minutes', '120')",
            &[&a.as_uuid()],
        )
        .await
        .unwrap();
    let p = w.person(a, &["TENANT_ADMIN"]).await;
    let me = |t: String| {
        let w = &w;
        async move { w.call("GET", "/api/v1/auth/me", Some(&t), None).await }
    };
    assert_eq!(me(p.token.clone()).await.status, 200);
    let parts: Vec<&str> = p.token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": header["kid"]})), parts[1]);
    // The classic confusion: HS256 keyed with the verifier's real public key (which is no secret).
    let public_ring =
        w.state.secrets().await.get(w.state.config().verification_keys_secret().unwrap()).await.unwrap();
    let public_ring: Value =
        serde_json::from_str(secrecy::ExposeSecret::expose_secret(&public_ring)).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let public_key =
        public_ring["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).unwrap()["public_key"]
            .as_str()
            .unwrap()
            .to_owned();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.to_owned());
    let confused =
        jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(public_key.as_bytes())).unwrap();
    let mut raised = claims.clone();
    raised["roles"] = json!(["SUPER_ADMIN"]);
    let tampered = format!("{}.{}.{}", parts[0], b64(&raised), parts[2]);
    for (name, token) in
        [("alg none", none), ("HS256 confusion", confused), ("tampered", tampered), ("garbage", "abc".into())]
    {
        assert_eq!(me(token).await.problem(401), "unauthenticated", "{name}");
    }
    let missing = w.call("GET", "/api/v1/auth/me", None, None).await;
    assert_eq!(missing.problem(401), "unauthenticated");
    assert_eq!(missing.headers["www-authenticate"], "Bearer");

    // Not yet valid: the clock is behind the token's nbf.
    w.clock.advance(Duration::seconds(-120));
    assert_eq!(me(p.token.clone()).await.problem(401), "unauthenticated");
    // Expired: 15 minutes after issue (the session itself would still be within a long idle limit).
    w.clock.advance(Duration::seconds(120) + Duration::minutes(15));
    let expired = me(p.token.clone()).await;
    assert_eq!(expired.problem(401), "unauthenticated");
    assert!(expired.body["detail"].as_str().unwrap().contains("token expired"), "{}", expired.body);
    // A fresh token for the same session still works then: it was the token that expired.
    w.clock.advance(Duration::seconds(1));
    let fresh = refresh(&w, &p.refresh).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(me(fresh.body["access_token"].as_str().unwrap().to_owned()).await.status, 200);
}

async fn refresh(w: &World, token: &str) -> crate::support::Reply {
    w.call("POST", "/api/v1/auth/refresh", None, Some(json!({ "refresh_token": token }))).await
}

#[tokio::test]
async fn refresh_rotates_and_reusing_a_spent_token_revokes_the_family() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person(a, &["TENANT_USER"]).await;
    let first = refresh(&w, &p.refresh).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let r2 = first.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r2, p.refresh);
    assert_eq!(first.body["session_id"], p.session.to_string(), "same session, next token of the family");
    let access2 = first.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(w.call("GET", "/api/v1/auth/me", Some(&access2), None).await.status, 200);

    // The spent token comes back: someone copied it. The whole family goes.
    let replay = refresh(&w, &p.refresh).await;
    assert_eq!(replay.problem(401), "unauthenticated");
    assert_eq!(
        refresh(&w, &r2).await.problem(401),
        "unauthenticated",
        "the newest token of the family is dead too"
    );
    assert_eq!(w.call("GET", "/api/v1/auth/me", Some(&access2), None).await.problem(401), "unauthenticated");
    assert!(w.audit_actions(Some(a)).await.contains(&"session.refresh_reuse_revoked".to_owned()));

    for junk in ["", "nope", "0193a0c0-0000-7000-8000-000000000001.short"] {
        assert_eq!(refresh(&w, junk).await.problem(401), "unauthenticated", "{junk:?}");
    }
}

#[tokio::test]
async fn logout_and_session_revocation_stop_tokens_at_their_next_request() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person(a, &["TENANT_USER"]).await;
    let other = w.mint(p.id, a).await;
    let sessions = w.call("GET", "/api/v1/auth/sessions", Some(&p.token), None).await;
    assert_eq!(sessions.status, 200);
    assert_eq!(sessions.body.as_array().unwrap().len(), 2);
    // Sign out the other device.
    let path = format!("/api/v1/auth/sessions/{}", other.session_id);
    assert_eq!(w.call("DELETE", &path, Some(&p.token), None).await.status, 204);
    assert_eq!(
        w.call("GET", "/api/v1/auth/me", Some(&other.access_token), None).await.problem(401),
        "unauthenticated"
    );
    assert_eq!(w.call("DELETE", &path, Some(&p.token), None).await.problem(404), "not_found");
    // And this one.
    assert_eq!(w.call("POST", "/api/v1/auth/logout", Some(&p.token), None).await.status, 204);
    assert_eq!(w.call("GET", "/api/v1/auth/me", Some(&p.token), None).await.problem(401), "unauthenticated");
    assert_eq!(refresh(&w, &p.refresh).await.problem(401), "unauthenticated");
}

#[tokio::test]
async fn sessions_end_after_the_tenants_idle_timeout() {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let admin = w.db.admin().await;
    for (t, minutes) in [(a, 5i64), (b, 10)] {
        admin
            .execute(
                "INSERT INTO tenant_settings (tenant_id, key, value) VALUES ($1, 'session.idle_timeout_minutes', to_jsonb($2::bigint))",
                &[&t.as_uuid(), &minutes],
            )
            .await
            .unwrap();
    }
    let (pa, pb) = (w.person(a, &["TENANT_USER"]).await, w.person(b, &["TENANT_USER"]).await);
    let me = |t: &str| {
        let (w, t) = (&w, t.to_owned());
        async move { w.call("GET", "/api/v1/auth/me", Some(&t), None).await }
    };
    w.clock.advance(Duration::minutes(4));
    assert_eq!(me(&pa.token).await.status, 200, "activity at minute 4 keeps it alive");
    w.clock.advance(Duration::minutes(4));
    assert_eq!(me(&pa.token).await.status, 200, "8 minutes old, 4 idle");
    w.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    let idle = me(&pa.token).await;
    assert_eq!(idle.problem(401), "unauthenticated");
    assert!(idle.body["detail"].as_str().unwrap().contains("inactivity"), "{}", idle.body);
    assert_eq!(refresh(&w, &pa.refresh).await.problem(401), "unauthenticated", "refresh cannot revive it");
    // Tenant B allows 10 idle minutes: its session, idle for 13, ended too, but one used at 8 would not.
    assert_eq!(me(&pb.token).await.problem(401), "unauthenticated");
    let pb2 = w.person(b, &["TENANT_USER"]).await;
    w.clock.advance(Duration::minutes(9));
    assert_eq!(me(&pb2.token).await.status, 200, "B's 10-minute limit, not A's 5");
}

#[tokio::test]
async fn switching_tenant_needs_an_active_membership_and_ends_the_old_session() {
    let w = World::new().await;
    let (a, b, c) = (w.tenant().await, w.tenant().await, w.tenant().await);
    let p = w.person(a, &["TENANT_USER"]).await;
    w.join(p.id, b, &["TENANT_ADMIN"]).await;
    let me = w.call("GET", "/api/v1/auth/me", Some(&p.token), None).await;
    assert_eq!(me.body["memberships"].as_array().unwrap().len(), 2, "{}", me.body);

    let to_c =
        w.call("POST", "/api/v1/auth/switch-tenant", Some(&p.token), Some(json!({ "tenant_id": c }))).await;
    assert_eq!(to_c.problem(403), "forbidden");
    let to_b = w.post("/api/v1/auth/switch-tenant", json!({ "tenant_id": b })).by(&p).expect(200).await;
    assert_eq!(to_b["tenant_id"], b.to_string());
    assert_eq!(to_b["roles"], json!(["TENANT_ADMIN"]));
    let new = to_b["access_token"].as_str().unwrap();
    let users = w.call("GET", "/api/v1/users", Some(new), None).await;
    assert_eq!(users.status, 200, "B's admin may list B's users");
    assert_eq!(w.call("GET", "/api/v1/auth/me", Some(&p.token), None).await.problem(401), "unauthenticated");
}

#[tokio::test]
async fn invitations_are_single_use_and_expire() {
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let invite = |email: &str| {
        let (w, t, email) = (&w, admin.token.clone(), email.to_owned());
        async move {
            w.call(
                "POST",
                "/api/v1/users/invitations",
                Some(&t),
                Some(json!({ "email": email, "roles": ["SALES_REP"] })),
            )
            .await
        }
    };
    let made = invite("New.Hire@Example.com").await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["email"], "new.hire@example.com");
    let token = w.emailed_token("invitation").await;
    let accept = |body: Value| {
        let w = &w;
        async move { w.call("POST", "/api/v1/auth/invitations/accept", None, Some(body)).await }
    };
    // A new user must set a password; a refusal does not spend the token.
    assert_eq!(accept(json!({ "token": token })).await.problem(422), "validation_failed");
    assert_eq!(
        accept(json!({ "token": token, "password": "short" })).await.problem(422),
        "validation_failed"
    );
    let ok = accept(json!({ "token": token, "password": PASSWORD, "display_name": "Nia Hire" })).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["roles"], json!(["SALES_REP"]));
    assert_eq!(accept(json!({ "token": token, "password": PASSWORD })).await.problem(400), "invalid_token");
    let signed_in = w.login("new.hire@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.body["roles"], json!(["SALES_REP"]));
    assert_eq!(invite("new.hire@example.com").await.problem(409), "already_member");

    // Expiry: seven days.
    assert_eq!(invite("late@example.com").await.status, 201);
    let late = w.emailed_token("invitation").await;
    w.clock.advance(Duration::days(7) + Duration::seconds(1));
    assert_eq!(accept(json!({ "token": late, "password": PASSWORD })).await.problem(400), "invalid_token");
    assert!(w.audit_actions(Some(a)).await.contains(&"user.invitation_accepted".to_owned()));
}

#[tokio::test]
async fn password_reset_tokens_are_single_use_expire_and_end_every_session() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    let request = |email: &str| {
        let (w, email) = (&w, email.to_owned());
        async move { w.call("POST", "/api/v1/auth/password-reset", None, Some(json!({ "email": email }))).await }
    };
    let known = request(&p.email).await;
    let unknown = request("nobody@example.com").await;
    assert_eq!((known.status.as_u16(), unknown.status.as_u16()), (202, 202));
    assert_eq!(known.body, unknown.body, "the answer does not say who exists");
    assert_eq!(w.outbox("notification.email_requested").await.len(), 1, "one email, to the known user");
    let token = w.emailed_token("password_reset").await;
    let confirm = |token: &str, pw: &str| {
        let (w, body) = (&w, json!({ "token": token, "new_password": pw }));
        async move { w.call("POST", "/api/v1/auth/password-reset/confirm", None, Some(body)).await }
    };
    assert_eq!(confirm(&token, "short").await.problem(422), "validation_failed");
    assert_eq!(confirm(&token, "a brand new passphrase").await.status, 204);
    assert_eq!(confirm(&token, "another new passphrase").await.problem(400), "invalid_token");
    assert_eq!(w.call("GET", "/api/v1/auth/me", Some(&p.token), None).await.problem(401), "unauthenticated");
    assert_eq!(w.login(&p.email, PASSWORD).await.problem(401), "invalid_credentials");
    assert_eq!(w.login(&p.email, "a brand new passphrase").await.status, 200);

    request(&p.email).await;
    let stale = w.emailed_token("password_reset").await;
    w.clock.advance(Duration::hours(1) + Duration::seconds(1));
    assert_eq!(confirm(&stale, "yet another passphrase").await.problem(400), "invalid_token");
    assert_eq!(confirm("not-a-token", "yet another passphrase").await.problem(400), "invalid_token");
}

#[tokio::test]
async fn a_suspended_tenants_tokens_stop_and_reactivation_restores_them() {
    let w = World::new().await;
    let a = w.tenant().await;
    let staff = w.person(w.platform, &["PLATFORM_ADMIN"]).await;
    let user = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    let suspend = format!("/api/v1/tenants/{a}/suspend");
    let s = w.post(&suspend, json!({ "reason": "unpaid" })).by(&staff).expect(200).await;
    assert_eq!(s["status"], "suspended");
    let me = w.call("GET", "/api/v1/auth/me", Some(&user.token), None).await;
    assert_eq!(me.problem(401), "unauthenticated");
    assert!(me.body["detail"].as_str().unwrap().contains("suspended"));
    assert_eq!(w.login(&user.email, PASSWORD).await.problem(403), "forbidden");
    assert_eq!(refresh(&w, &user.refresh).await.problem(401), "unauthenticated");
    let r =
        w.call("POST", &format!("/api/v1/tenants/{a}/reactivate"), Some(&staff.token), Some(json!({}))).await;
    assert_eq!(r.body["status"], "active");
    assert_eq!(w.call("GET", "/api/v1/auth/me", Some(&user.token), None).await.status, 200);
    let actions = w.audit_actions(Some(a)).await;
    assert!(
        actions.contains(&"tenant.suspended".to_owned())
            && actions.contains(&"tenant.reactivated".to_owned())
    );
    let platform = w
        .call("POST", &format!("/api/v1/tenants/{}/suspend", w.platform), Some(&staff.token), Some(json!({})))
        .await;
    assert_eq!(platform.problem(409), "platform_tenant");
}

#[tokio::test]
async fn platform_staff_act_for_a_tenant_only_with_x_tenant_id_and_it_is_audited() {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let staff = w.person(w.platform, &["SUPPORT"]).await;
    let a_user = w.person(a, &["TENANT_USER"]).await;
    let a_admin = w.person(a, &["TENANT_ADMIN"]).await;
    let acting = [("x-tenant-id", a.to_string())];
    let list = w.call_with("GET", "/api/v1/users", Some(&staff.token), None, &acting).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.to_string().contains(&a_user.id.to_string()));
    let cross: Vec<bool> =
        w.db.admin()
            .await
            .query(
                "SELECT cross_tenant FROM audit_log WHERE tenant_id = $1 AND action = 'tenant.cross_access'",
                &[&a.as_uuid()],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(cross, vec![true], "the cross-tenant access is audited in the tenant acted on");
    // Support is read-only: acting for A does not let it change anything.
    let patch = w
        .call_with(
            "PATCH",
            &format!("/api/v1/users/{}", a_user.id),
            Some(&staff.token),
            Some(json!({"display_name": "x"})),
            &acting,
        )
        .await;
    assert_eq!(patch.problem(403), "forbidden");
    // A tenant admin has no cross-tenant permission: the header is refused, not ignored.
    let b_header = [("x-tenant-id", b.to_string())];
    assert_eq!(
        w.call_with("GET", "/api/v1/users", Some(&a_admin.token), None, &b_header).await.problem(403),
        "forbidden"
    );
    let bad = [("x-tenant-id", "not-a-uuid".to_owned())];
    assert_eq!(
        w.call_with("GET", "/api/v1/users", Some(&staff.token), None, &bad).await.problem(422),
        "validation_failed"
    );
    let ghost = [("x-tenant-id", uuid::Uuid::now_v7().to_string())];
    assert_eq!(
        w.call_with("GET", "/api/v1/users", Some(&staff.token), None, &ghost).await.problem(404),
        "not_found"
    );
}

#[test]
fn only_the_token_issuers_can_read_the_private_signing_keys() {
    let template = crate::support::template();
    let mut holders = Vec::new();
    for f in template.functions().unwrap() {
        let resource = template.resource(&f.logical_id).unwrap();
        if serde_yaml::to_string(resource).unwrap().contains("SigningKeysSecret") {
            holders.push(f.binary.clone());
        }
    }
    holders.sort();
    assert_eq!(
        holders,
        vec![
            "auth-login",
            "auth-mfa-verify",
            "auth-refresh",
            "auth-sso-callback",
            "auth-switch-tenant",
            "rotate-signing-keys"
        ]
    );
}

#[tokio::test]
async fn concurrent_guesses_from_two_processes_cannot_slip_past_the_lockout() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    let dir = std::env::temp_dir().join(format!("lockout-{}", crate::support::unique()));
    let (mut runner, api) = crate::support::spawn_runner(&w.db, &dir, false, None, &[]).await;
    let http = crate::support::http_client();
    let body = json!({ "email": p.email, "password": "a wrong guess here" });
    // Twelve wrong guesses at once: six through this process, six through the runner process.
    let here = (0..6).map(|_| {
        let (w, body) = (&w, body.clone());
        Box::pin(async move { w.call("POST", "/api/v1/auth/login", None, Some(body)).await.status.as_u16() })
            as std::pin::Pin<Box<dyn std::future::Future<Output = u16> + '_>>
    });
    let there = (0..6).map(|_| {
        let (http, url, body) = (&http, format!("{api}/api/v1/auth/login"), body.clone());
        Box::pin(async move { http.post(url).json(&body).send().await.unwrap().status().as_u16() })
            as std::pin::Pin<Box<dyn std::future::Future<Output = u16> + '_>>
    });
    let statuses = futures::future::join_all(here.chain(there)).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, locked), (5, 7), "exactly the threshold was checked: {statuses:?}");
    let rows: i64 =
        w.db.admin()
            .await
            .query_one(
                "SELECT count(*) FROM login_attempts WHERE email = $1 AND reason = 'bad_credentials'",
                &[&p.email],
            )
            .await
            .unwrap()
            .get(0);
    assert_eq!(rows, 5);
    runner.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
