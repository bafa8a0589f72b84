//! Single sign-on against a real OpenID provider started here (Node, oauth2-mock-server, from
//! tests/oidc): success, and refusal of a wrong `state`, a wrong `nonce`, a wrong `aud`, an expired
//! ID token and a PKCE verifier mismatch; a used state; matching by verified email; provisioning.

use serde_json::json;

use crate::support::Reply;
use crate::world::{Person, World};

const EMAIL: &str = "johndoe@sso.example";

/// Starts the provider; returns it and its issuer URL.
async fn provider() -> (tokio::process::Child, String) {
    let dir = gateway_functions::local::repo_root().join("tests/oidc");
    assert!(
        dir.join("node_modules/oauth2-mock-server").exists(),
        "the test OpenID provider is not installed: run the suite with scripts/test (it runs npm ci in tests/oidc)"
    );
    let mut node = tokio::process::Command::new("node");
    node.arg("provider.mjs").current_dir(&dir).env("OIDC_EMAIL", EMAIL);
    crate::support::spawn_announcing(node, "issuer ", 30, "the OpenID provider").await
}

async fn configure(w: &World, admin: &Person, name: &str, issuer: &str, client_id: &str, provisioning: bool) {
    let body = json!({ "issuer": issuer, "client_id": client_id, "allow_provisioning": provisioning, "default_role": "TENANT_USER" });
    w.put(format!("/api/v1/sso/providers/{name}"), body).by(admin).expect(200).await;
}

/// What the browser holds after the provider sends it back.
struct Back {
    code: String,
    state: String,
    /// The binding cookie our redirect set.
    cookie: String,
}

/// Runs the browser's part: our redirect, the provider's authorization (it approves at once), and
/// back.
async fn authorize(w: &World, name: &str, tenant: &str) -> Back {
    let start = w.call("GET", &format!("/api/v1/auth/sso/{name}?tenant={tenant}"), None, None).await;
    assert_eq!(start.status, 302, "{}", start.body);
    let set_cookie = start.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let to_idp = start.headers["location"].to_str().unwrap().to_owned();
    assert!(
        to_idp.contains("code_challenge_method=S256")
            && to_idp.contains("nonce=")
            && to_idp.contains("state=")
    );
    let http = crate::support::http_client();
    let back = http.get(&to_idp).send().await.unwrap();
    assert_eq!(back.status(), 302);
    let url = reqwest::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    assert!(url.path().ends_with(&format!("/api/v1/auth/sso/{name}/callback")), "{url}");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    Back { code: q["code"].clone(), state: q["state"].clone(), cookie }
}

async fn callback(w: &World, name: &str, back: &Back) -> Reply {
    let path = format!("/api/v1/auth/sso/{name}/callback?code={}&state={}", back.code, back.state);
    w.call_with("GET", &path, None, None, &[("cookie", back.cookie.clone())]).await
}

async fn member_with_sso_email(w: &World, tenant: gateway::platform::tenant::TenantId) -> Person {
    let p = w.person(tenant, &["TENANT_USER"]).await;
    w.db.admin().await.execute("UPDATE users SET email = $1 WHERE id = $2", &[&EMAIL, &p.id]).await.unwrap();
    p
}

#[tokio::test]
async fn a_member_signs_in_through_the_provider_and_each_tampering_is_refused() {
    let (_idp, issuer) = provider().await;
    let w = World::new().await;
    let a = w.tenant().await;
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    let member = member_with_sso_email(&w, a).await;
    configure(&w, &admin, "mock", &issuer, "gateway", false).await;
    let listed = w.call("GET", "/api/v1/sso/providers", Some(&admin.token), None).await;
    assert_eq!(listed.body[0]["redirect_uri"], "http://127.0.0.1:3000/api/v1/auth/sso/mock/callback");

    let back = authorize(&w, "mock", &a.to_string()).await;
    // Another browser (no binding cookie) cannot finish it, and does not spend it.
    let path = format!("/api/v1/auth/sso/mock/callback?code={}&state={}", back.code, back.state);
    assert_eq!(w.call("GET", &path, None, None).await.problem(401), "unauthenticated");
    let ok = callback(&w, "mock", &back).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["user_id"], member.id.to_string());
    assert_eq!(ok.body["tenant_id"], a.to_string());
    assert_eq!(w.call("GET", "/api/v1/auth/me", ok.body["access_token"].as_str(), None).await.status, 200);
    // The same state again: spent.
    assert_eq!(callback(&w, "mock", &back).await.problem(401), "unauthenticated");
    // A single sign-on session cannot carry the person into their other tenants.
    let other = w.tenant().await;
    w.join(member.id, other, &["TENANT_USER"]).await;
    let switch = w
        .call(
            "POST",
            "/api/v1/auth/switch-tenant",
            ok.body["access_token"].as_str(),
            Some(json!({ "tenant_id": other })),
        )
        .await;
    assert_eq!(switch.problem(403), "forbidden");

    // A wrong state (well-formed, never issued).
    let mut wrong = authorize(&w, "mock", &a.to_string()).await;
    wrong.state = format!("{a}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(callback(&w, "mock", &wrong).await.problem(401), "unauthenticated");

    // PKCE: the verifier we hold no longer matches the challenge the provider saw.
    let back = authorize(&w, "mock", &a.to_string()).await;
    w.db.admin()
        .await
        .execute("UPDATE sso_logins SET pkce_verifier = repeat('x', 43) WHERE completed_at IS NULL", &[])
        .await
        .unwrap();
    assert_eq!(callback(&w, "mock", &back).await.problem(401), "unauthenticated");

    // ID tokens that fail verification: another audience, expired, a nonce we never sent.
    for client in ["bad-aud", "expired", "bad-nonce"] {
        configure(&w, &admin, client, &issuer, client, false).await;
        let back = authorize(&w, client, &a.to_string()).await;
        let refused = callback(&w, client, &back).await;
        assert_eq!(refused.problem(401), "unauthenticated", "{client}");
        assert!(
            refused.body["detail"].as_str().unwrap().contains("single sign-on failed"),
            "{client}: {}",
            refused.body
        );
    }
    let logins: i64 =
        w.db.admin()
            .await
            .query_one("SELECT count(*) FROM audit_log WHERE action = 'session.login' AND after ? 'sso'", &[])
            .await
            .unwrap()
            .get(0);
    assert_eq!(logins, 1, "only the one good sign-in");
}

#[tokio::test]
async fn an_unknown_email_is_provisioned_only_where_the_tenant_allows_it() {
    let (_idp, issuer) = provider().await;
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let (a_admin, b_admin) = (w.person(a, &["TENANT_ADMIN"]).await, w.person(b, &["TENANT_ADMIN"]).await);
    configure(&w, &a_admin, "mock", &issuer, "gateway", false).await;
    configure(&w, &b_admin, "mock", &issuer, "gateway", true).await;
    let back = authorize(&w, "mock", &a.to_string()).await;
    assert_eq!(callback(&w, "mock", &back).await.problem(403), "forbidden");
    let back = authorize(&w, "mock", &b.to_string()).await;
    let made = callback(&w, "mock", &back).await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.body["roles"], json!(["TENANT_USER"]));
    let actions = w.audit_actions(Some(b)).await;
    assert!(actions.contains(&"user.provisioned_by_sso".to_owned()));
    // The next sign-in matches the provisioned member.
    let back = authorize(&w, "mock", &b.to_string()).await;
    assert_eq!(callback(&w, "mock", &back).await.body["user_id"], made.body["user_id"]);
}

#[tokio::test]
async fn a_provider_cannot_claim_an_existing_users_email_into_its_tenant_and_mfa_still_applies() {
    let (_idp, issuer) = provider().await;
    let w = World::new().await;
    let (victims, attackers) = (w.tenant().await, w.tenant().await);
    // The email the provider vouches for belongs to a user of another tenant.
    let victim = member_with_sso_email(&w, victims).await;
    let admin = w.person(attackers, &["TENANT_ADMIN"]).await;
    configure(&w, &admin, "mock", &issuer, "gateway", true).await;
    let back = authorize(&w, "mock", &attackers.to_string()).await;
    let refused = callback(&w, "mock", &back).await;
    assert_eq!(refused.problem(403), "forbidden");
    let joined: i64 =
        w.db.admin()
            .await
            .query_one("SELECT count(*) FROM tenant_users WHERE user_id = $1", &[&victim.id])
            .await
            .unwrap()
            .get(0);
    assert_eq!(joined, 1, "the victim was not added to the provider's tenant");

    // In the victim's own tenant, with an authenticator: single sign-on ends in a challenge.
    let v_admin = w.person(victims, &["TENANT_ADMIN"]).await;
    configure(&w, &v_admin, "mock", &issuer, "gateway", false).await;
    let secret = crate::mfa::setup(&w, &victim).await;
    crate::mfa::confirm(&w, &victim, &secret).await;
    let back = authorize(&w, "mock", &victims.to_string()).await;
    let challenge = callback(&w, "mock", &back).await;
    assert_eq!(challenge.status, 200, "{}", challenge.body);
    assert_eq!(challenge.body["mfa_required"], true);
    assert!(challenge.body.get("access_token").is_none());
}
