//! Second factors: TOTP against the RFC 6238 vectors, enrolment confirmed by a first code, login
//! challenges, replayed codes refused, email codes, single-use recovery codes, disabling with a
//! fresh factor, the tenant policy, and the audit trail.

use chrono::Duration;
use gateway::identity::totp::{self, Algorithm};
use serde_json::{Value, json};

use crate::world::{PASSWORD, Person, World};

/// Starts enrolment; returns the secret.
pub async fn setup(w: &World, p: &Person) -> Vec<u8> {
    let r = w.call_to("POST", "/api/v1/auth/mfa/setup").by(p).expect(200).await;
    totp::base32_decode(r["secret"].as_str().unwrap()).unwrap()
}

pub fn current_code(w: &World, secret: &[u8]) -> String {
    totp::code(secret, totp::step_of(gateway::Clock::now(&*w.clock).timestamp()))
}

/// Confirms enrolment; returns the recovery codes.
pub async fn confirm(w: &World, p: &Person, secret: &[u8]) -> Vec<String> {
    let r = w
        .post("/api/v1/auth/mfa/confirm", json!({ "code": current_code(w, secret) }))
        .by(p)
        .expect(200)
        .await;
    r["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect()
}

async fn verify(w: &World, challenge: &str, body: Value) -> crate::support::Reply {
    let mut body = body;
    body["challenge_token"] = challenge.into();
    w.call("POST", "/api/v1/auth/mfa/verify", None, Some(body)).await
}

#[test]
fn totp_matches_every_rfc_6238_vector() {
    let path = crate::support::fixture("rfc6238-vectors.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (time, expected, mode) = (cols[0].parse::<i64>().unwrap(), cols[4], cols[5]);
        let (alg, seed): (Algorithm, &[u8]) = match mode {
            "SHA1" => (Algorithm::Sha1, b"12345678901234567890"),
            "SHA256" => (Algorithm::Sha256, b"12345678901234567890123456789012"),
            "SHA512" => {
                (Algorithm::Sha512, b"1234567890123456789012345678901234567890123456789012345678901234")
            }
            other => panic!("{other}"),
        };
        let got = totp::hotp(seed, totp::step_of(time) as u64, 8, alg);
        assert_eq!(format!("{got:08}"), expected, "{line}");
        checked += 1;
    }
    assert_eq!(checked, 18);
}

#[tokio::test]
async fn enrolment_then_login_needs_the_code_and_a_code_is_never_accepted_twice() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    let r = w.call("POST", "/api/v1/auth/mfa/setup", Some(&p.token), None).await;
    assert!(
        r.body["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Regen%20Therapy%20Gateway:"),
        "{}",
        r.body
    );
    let secret = totp::base32_decode(r.body["secret"].as_str().unwrap()).unwrap();
    // At rest the secret is encrypted.
    let stored: Vec<u8> =
        w.db.admin().await.query_one("SELECT secret_encrypted FROM mfa_factors", &[]).await.unwrap().get(0);
    assert!(!stored.windows(secret.len()).any(|win| win == secret.as_slice()));
    // Not enrolled until a valid code confirms it.
    let bad =
        w.call("POST", "/api/v1/auth/mfa/confirm", Some(&p.token), Some(json!({"code": "000000"}))).await;
    assert_eq!(bad.problem(401), "invalid_second_factor");
    assert!(w.login(&p.email, PASSWORD).await.body["access_token"].is_string(), "no factor yet: tokens");
    let codes = confirm(&w, &p, &secret).await;
    assert_eq!(codes.len(), 10);

    let challenge = w.login(&p.email, PASSWORD).await;
    assert_eq!(challenge.status, 200);
    assert_eq!(challenge.body["mfa_required"], true);
    assert!(challenge.body.get("access_token").is_none(), "no tokens before the factor");
    let token = challenge.body["challenge_token"].as_str().unwrap().to_owned();
    // The confirming code's step is spent: wait for the next step.
    w.clock.advance(Duration::seconds(30));
    let code = current_code(&w, &secret);
    assert_eq!(verify(&w, &token, json!({"code": "999999"})).await.problem(401), "invalid_second_factor");
    let ok = verify(&w, &token, json!({ "code": code })).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body["access_token"].is_string());
    // The same code on a new challenge, same step: refused (replay).
    let again = w.login(&p.email, PASSWORD).await.body["challenge_token"].as_str().unwrap().to_owned();
    assert_eq!(verify(&w, &again, json!({ "code": code })).await.problem(401), "invalid_second_factor");
    // A used challenge cannot be used again.
    assert_eq!(verify(&w, &token, json!({ "code": code })).await.problem(401), "unauthenticated");
    let actions = w.audit_actions(Some(a)).await;
    assert!(actions.contains(&"mfa.enrolled".to_owned()));
}

#[tokio::test]
async fn recovery_codes_work_once_and_a_spent_challenge_stays_spent() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    let secret = setup(&w, &p).await;
    let codes = confirm(&w, &p, &secret).await;
    let challenge = w.login(&p.email, PASSWORD).await;
    assert_eq!(
        challenge.body["methods"],
        json!(["totp", "recovery_code"]),
        "no email for authenticator users"
    );
    let token = challenge.body["challenge_token"].as_str().unwrap().to_owned();
    assert_eq!(verify(&w, &token, json!({"recovery_code": codes[0]})).await.status, 200);
    let next = w.login(&p.email, PASSWORD).await.body["challenge_token"].as_str().unwrap().to_owned();
    assert_eq!(
        verify(&w, &next, json!({"recovery_code": codes[0]})).await.problem(401),
        "invalid_second_factor"
    );
    assert!(w.audit_actions(Some(a)).await.contains(&"mfa.recovery_code_used".to_owned()));
    // The mailbox is no second factor for someone with an authenticator.
    let email = w.call("POST", "/api/v1/auth/mfa/email", None, Some(json!({"challenge_token": next}))).await;
    assert_eq!(email.problem(409), "use_authenticator");
    // Five wrong codes spend a challenge.
    for _ in 0..5 {
        verify(&w, &next, json!({"code": "000000"})).await;
    }
    w.clock.advance(Duration::seconds(30));
    assert_eq!(
        verify(&w, &next, json!({ "code": current_code(&w, &secret) })).await.problem(401),
        "unauthenticated"
    );
}

#[tokio::test]
async fn the_tenant_policy_requires_a_factor_emailed_codes_serve_without_an_authenticator_and_switching_honours_it()
 {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let admin = w.person(a, &["TENANT_ADMIN"]).await;
    w.put("/api/v1/settings/mfa.required_roles", json!({"value": ["TENANT_ADMIN"]}))
        .by(&admin)
        .expect(200)
        .await;
    let p = w.person_with(a, &["TENANT_ADMIN"], Some(PASSWORD)).await;
    let challenge = w.login(&p.email, PASSWORD).await;
    assert_eq!(challenge.body["methods"], json!(["email"]));
    let token = challenge.body["challenge_token"].as_str().unwrap().to_owned();
    w.post("/api/v1/auth/mfa/email", json!({"challenge_token": token})).expect(202).await;
    let mails = w.outbox("notification.email_requested").await;
    let code = mails.iter().find(|m| m["template"] == "email_code").unwrap()["params"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = verify(&w, &token, json!({ "code": code })).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // A session from a tenant without the policy does not slip into A by switching.
    w.join(p.id, b, &["TENANT_USER"]).await;
    let in_b = w.mint(p.id, b).await;
    let switch = w
        .call("POST", "/api/v1/auth/switch-tenant", Some(&in_b.access_token), Some(json!({"tenant_id": a})))
        .await;
    assert_eq!(switch.status, 200);
    assert_eq!(switch.body["mfa_required"], true, "{}", switch.body);
    // One that passed the factor does.
    let back = w
        .call(
            "POST",
            "/api/v1/auth/switch-tenant",
            ok.body["access_token"].as_str(),
            Some(json!({"tenant_id": b})),
        )
        .await;
    let to_a = w
        .call(
            "POST",
            "/api/v1/auth/switch-tenant",
            back.body["access_token"].as_str(),
            Some(json!({"tenant_id": a})),
        )
        .await;
    assert!(to_a.body["access_token"].is_string(), "{}", to_a.body);
}

#[tokio::test]
async fn disabling_needs_a_fresh_factor_and_the_tenant_can_require_one() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_ADMIN"], Some(PASSWORD)).await;
    let secret = setup(&w, &p).await;
    confirm(&w, &p, &secret).await;
    let stale = w
        .call(
            "POST",
            "/api/v1/auth/mfa/disable",
            Some(&p.token),
            Some(json!({ "code": current_code(&w, &secret) })),
        )
        .await;
    assert_eq!(stale.problem(401), "invalid_second_factor", "the confirming code is spent");
    w.clock.advance(Duration::seconds(30));
    w.post("/api/v1/auth/mfa/disable", json!({ "code": current_code(&w, &secret) })).by(&p).expect(204).await;
    assert!(w.login(&p.email, PASSWORD).await.body["access_token"].is_string(), "no factor: tokens again");
    assert!(w.audit_actions(Some(a)).await.contains(&"mfa.disabled".to_owned()));
    // Policy: admins of this tenant must pass a second factor; a role it does not name need not.
    w.setting(a, "mfa.required_roles", json!(["TENANT_ADMIN"])).await;
    assert_eq!(w.login(&p.email, PASSWORD).await.body["methods"], json!(["email"]));
    let user = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    assert!(
        w.login(&user.email, PASSWORD).await.body["access_token"].is_string(),
        "a role the policy does not name"
    );
}
