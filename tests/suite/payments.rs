//! The payment gateway clients against the provider sandboxes: every operation of both, every
//! fault class, the providers' test triggers, one-time tokens. What happened is read from the
//! sandbox's own books (its ledger), never from what the client says.

use std::time::Duration;

use chrono::Utc;
use gateway::payments::{
    AuthorizeNet, Billing, Endpoint, Gateway, Money, Nmi, OneTimeToken, Operation, Outcome, PaymentSource,
    Request, TransactionStatus, VaultCustomer,
};
use gateway::platform::outbound::Policy;
use secrecy::SecretString;

use crate::sandboxes::{AUTHNET_KEY, AUTHNET_LOGIN, NMI_KEY, Sandboxes};
use crate::support::unique;

fn endpoint(url: &str, timeout_ms: u64) -> Endpoint {
    Endpoint {
        base_url: url.to_owned(),
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(timeout_ms),
    }
}

fn nmi(s: &Sandboxes, timeout_ms: u64) -> Nmi {
    Nmi::new(&endpoint(&s.nmi, timeout_ms), Policy::Local, SecretString::from(NMI_KEY.to_owned())).unwrap()
}

fn authorize_net(s: &Sandboxes, timeout_ms: u64) -> AuthorizeNet {
    AuthorizeNet::new(
        &endpoint(&s.authorize_net, timeout_ms),
        Policy::Local,
        SecretString::from(AUTHNET_LOGIN.to_owned()),
        SecretString::from(AUTHNET_KEY.to_owned()),
    )
    .unwrap()
}

fn usd(minor: i64) -> Money {
    Money::new(minor, "USD").unwrap()
}

fn reference() -> String {
    format!("att_{}", unique())
}

async fn run(g: &dyn Gateway, reference: &str, operation: Operation) -> Outcome {
    g.execute(&Request { reference: reference.to_owned(), operation }).await
}

fn approved(o: Outcome) -> gateway::payments::Approval {
    match o {
        Outcome::Approved(a) => a,
        other => panic!("expected an approval, got {other:?}"),
    }
}

fn id(a: &gateway::payments::Approval) -> String {
    a.transaction_id.clone().expect("a transaction id")
}

/// The one transaction the sandbox's books hold for `reference`.
async fn booked(s: &Sandboxes, provider: &str, reference: &str) -> serde_json::Value {
    let mut t = s.ledger(provider, reference).await;
    assert_eq!(t.len(), 1, "{provider} {reference}: {t:?}");
    t.remove(0)
}

fn token(provider: &str, value: String) -> PaymentSource {
    match provider {
        "nmi" => PaymentSource::NmiToken(OneTimeToken::new(value)),
        _ => PaymentSource::AuthorizeNetOpaque(OneTimeToken::new(value)),
    }
}

/// Sale, authorization, full and partial capture, void, full and partial refund, vault and a
/// charge on the vault, lookups by our reference and by id, and the unsettled and settled lists,
/// at one gateway.
async fn every_operation(s: &Sandboxes, g: &dyn Gateway, provider: &str) {
    let zip = Billing { postal_code: Some("40202".into()), ..Default::default() };
    // A sale: captured at once.
    let sale_ref = reference();
    let source = token(provider, s.token(provider).await);
    let sale = approved(
        run(g, &sale_ref, Operation::Sale { source, amount: usd(1000), billing: zip.clone() }).await,
    );
    let t = booked(s, provider, &sale_ref).await;
    assert_eq!((t["amount"].as_i64(), t["captured"].as_i64()), (Some(1000), Some(1000)), "{t}");
    // An authorization, then a partial capture.
    let auth_ref = reference();
    let source = token(provider, s.token(provider).await);
    let auth = approved(
        run(g, &auth_ref, Operation::Authorize { source, amount: usd(2000), billing: zip.clone() }).await,
    );
    assert_eq!(booked(s, provider, &auth_ref).await["captured"], 0);
    let capture = Operation::Capture { transaction_id: id(&auth), amount: usd(750) };
    approved(run(g, &reference(), capture).await);
    let t = booked(s, provider, &auth_ref).await;
    assert_eq!((t["authorized"].as_i64(), t["captured"].as_i64()), (Some(2000), Some(750)), "{t}");
    // A second authorization, captured in full.
    let full_ref = reference();
    let source = token(provider, s.token(provider).await);
    let full = approved(
        run(g, &full_ref, Operation::Authorize { source, amount: usd(1200), billing: zip.clone() }).await,
    );
    approved(run(g, &reference(), Operation::Capture { transaction_id: id(&full), amount: usd(1200) }).await);
    assert_eq!(booked(s, provider, &full_ref).await["captured"], 1200);
    // An authorization voided.
    let void_ref = reference();
    let source = token(provider, s.token(provider).await);
    let to_void = approved(
        run(g, &void_ref, Operation::Authorize { source, amount: usd(500), billing: zip.clone() }).await,
    );
    approved(run(g, &reference(), Operation::Void { transaction_id: id(&to_void) }).await);
    assert_eq!(booked(s, provider, &void_ref).await["state"], "voided");
    // Unsettled: the captures and the open authorizations are there.
    let unsettled = g.unsettled().await.unwrap();
    assert!(unsettled.iter().any(|t| t.id == id(&sale)), "{unsettled:?}");
    // Settled, then refunded: in full, and partly.
    let from = Utc::now() - chrono::Duration::days(1);
    s.settle(provider).await;
    let settled = g.settled(from, Utc::now() + chrono::Duration::days(1)).await.unwrap();
    assert!(
        settled.iter().any(|t| t.id == id(&sale) && t.status == TransactionStatus::Settled),
        "{settled:?}"
    );
    let last4 = sale.last4.clone().or(Some("1111".into()));
    let refund = Operation::Refund {
        transaction_id: id(&sale),
        amount: Some(usd(1000)),
        account_last4: last4.clone(),
    };
    approved(run(g, &reference(), refund).await);
    assert_eq!(booked(s, provider, &sale_ref).await["refunded"], 1000);
    let partial =
        Operation::Refund { transaction_id: id(&full), amount: Some(usd(200)), account_last4: last4 };
    approved(run(g, &reference(), partial).await);
    let t = booked(s, provider, &full_ref).await;
    assert_eq!(
        (t["captured"].as_i64(), t["refunded"].as_i64()),
        (Some(1200), Some(200)),
        "the customer's net is 10.00: {t}"
    );
    // A void after settlement is refused as the provider refuses it: nothing happened.
    let late = run(g, &reference(), Operation::Void { transaction_id: id(&full) }).await;
    assert!(matches!(late, Outcome::NotProcessed { .. } | Outcome::Declined { .. }), "{late:?}");
    assert_eq!(booked(s, provider, &full_ref).await["refunded"], 200);
    // Lookups: by our reference and by the gateway's id.
    let found = g.find_by_reference(&auth_ref).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].id.as_str(), found[0].captured), (id(&auth).as_str(), 750));
    let by_id = g.find_by_id(&id(&to_void)).await.unwrap().unwrap();
    assert_eq!(by_id.status, TransactionStatus::Voided);
    assert!(g.find_by_reference("att_never_sent").await.unwrap().is_empty());
    // The vault: a one-time token becomes a reusable credential, charged twice.
    let one_time = OneTimeToken::new(s.token(provider).await);
    let customer = VaultCustomer {
        reference: format!("pm_{}", unique()),
        email: Some("jane@example.com".into()),
        billing: zip.clone(),
    };
    let stored = approved(g.vault(&one_time, &customer).await).vault.expect("a vault credential");
    assert_eq!(stored.gateway().as_str(), provider);
    for _ in 0..2 {
        let r = reference();
        approved(
            run(g, &r, Operation::Sale { source: stored.source(), amount: usd(300), billing: zip.clone() })
                .await,
        );
        assert_eq!(booked(s, provider, &r).await["captured"], 300);
    }
    // The provider's decline trigger: declined, and no money moved.
    let declined_ref = reference();
    let source = token(provider, s.token(provider).await);
    let (amount, billing) = match provider {
        "nmi" => (usd(50), zip.clone()),
        _ => (usd(1000), Billing { postal_code: Some("46282".into()), ..Default::default() }),
    };
    let o = run(g, &declined_ref, Operation::Sale { source, amount, billing }).await;
    assert!(matches!(o, Outcome::Declined { .. }), "{o:?}");
    for t in s.ledger(provider, &declined_ref).await {
        assert_eq!(t["captured"], 0, "{t}");
    }
}

#[tokio::test]
async fn nmi_does_every_operation_against_its_sandbox() {
    let s = Sandboxes::start().await;
    every_operation(&s, &nmi(&s, 5000), "nmi").await;
}

#[tokio::test]
async fn authorize_net_does_every_operation_against_its_sandbox() {
    let s = Sandboxes::start().await;
    every_operation(&s, &authorize_net(&s, 5000), "authorize_net").await;
}

/// Each fault, injected in the sandbox, ends in its outcome class; where the gateway processed
/// the call before the failure, its books show the charge.
#[tokio::test]
async fn every_fault_ends_in_its_outcome_class_and_the_books_say_what_happened() {
    let s = Sandboxes::start().await;
    let clients: [(&str, Box<dyn Gateway>); 2] =
        [("nmi", Box::new(nmi(&s, 1000))), ("authorize_net", Box::new(authorize_net(&s, 1000)))];
    // (fault, delay, expected class, whether the charge exists)
    let table: &[(&str, Option<u64>, &str, bool)] = &[
        ("delay", Some(200), "approved", true),
        ("drop_after_processing", None, "unknown", true),
        ("timeout_before_processing", Some(3000), "unknown", false),
        ("timeout_after_processing", Some(3000), "unknown", true),
        ("http_500", None, "unknown", false),
        ("reset", None, "unknown", false),
        ("malformed", None, "unknown", true),
        ("refuse", None, "not_processed", false),
    ];
    for (provider, g) in &clients {
        for (fault, delay, class, charged) in table {
            let r = reference();
            let source = token(provider, s.token(provider).await);
            s.fault(provider, fault, Some(1), *delay).await;
            let o = run(
                g.as_ref(),
                &r,
                Operation::Sale { source, amount: usd(1000), billing: Billing::default() },
            )
            .await;
            s.clear_faults().await;
            assert_eq!(o.class(), *class, "{provider} {fault}: {o:?}");
            let books = s.ledger(provider, &r).await;
            let captured: i64 = books.iter().map(|t| t["captured"].as_i64().unwrap_or(0)).sum();
            assert_eq!(captured, if *charged { 1000 } else { 0 }, "{provider} {fault}: {books:?}");
            if *class == "unknown" && *charged {
                // An unknown outcome is resolved by asking: the gateway finds the charge by our reference.
                let found = g.find_by_reference(&r).await.unwrap();
                assert_eq!(found.len(), 1, "{provider} {fault}: {found:?}");
            }
        }
    }
}

/// One-time tokens are single use and expire (the sandbox's clock moved, nobody sleeps); a token
/// of the other gateway is never sent.
#[tokio::test]
async fn one_time_tokens_are_single_use_and_expire() {
    let s = Sandboxes::start().await;
    let clients: [(&str, Box<dyn Gateway>); 2] =
        [("nmi", Box::new(nmi(&s, 5000))), ("authorize_net", Box::new(authorize_net(&s, 5000)))];
    for (provider, g) in &clients {
        let value = s.token(provider).await;
        approved(
            run(
                g.as_ref(),
                &reference(),
                Operation::Sale {
                    source: token(provider, value.clone()),
                    amount: usd(100),
                    billing: Billing::default(),
                },
            )
            .await,
        );
        let again = run(
            g.as_ref(),
            &reference(),
            Operation::Sale { source: token(provider, value), amount: usd(100), billing: Billing::default() },
        )
        .await;
        assert_eq!(again.class(), "not_processed", "{provider} used twice: {again:?}");
        let stale = s.token(provider).await;
        s.advance(16 * 60).await;
        let late = run(
            g.as_ref(),
            &reference(),
            Operation::Sale { source: token(provider, stale), amount: usd(100), billing: Billing::default() },
        )
        .await;
        assert_eq!(late.class(), "not_processed", "{provider} expired: {late:?}");
        let other = if *provider == "nmi" { "authorize_net" } else { "nmi" };
        let calls_before = s.books().await["calls"][provider].clone();
        let wrong = run(
            g.as_ref(),
            &reference(),
            Operation::Sale {
                source: token(other, "x".into()),
                amount: usd(100),
                billing: Billing::default(),
            },
        )
        .await;
        assert_eq!(wrong.class(), "not_processed", "{wrong:?}");
        assert_eq!(
            s.books().await["calls"][provider],
            calls_before,
            "no call was made with another gateway's token"
        );
    }
}

/// Authorize.net's fraud filter holds a transaction: unknown until its details say otherwise.
#[tokio::test]
async fn a_transaction_held_for_review_is_unknown_until_asked() {
    let s = Sandboxes::start().await;
    let g = authorize_net(&s, 5000);
    let r = reference();
    let source = token("authorize_net", s.token("authorize_net").await);
    let billing = Billing { postal_code: Some("46299".into()), ..Default::default() };
    let o = run(&g, &r, Operation::Authorize { source, amount: usd(1000), billing }).await;
    assert_eq!(o.class(), "unknown", "{o:?}");
    let found = g.find_by_reference(&r).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status, TransactionStatus::Held);
}

/// A secret in the emulator's Secrets Manager holding `value`; its name.
pub async fn secret(w: &crate::world::World, value: serde_json::Value) -> String {
    let name = format!("payments/{}", unique());
    w.state
        .aws()
        .await
        .secretsmanager()
        .create_secret()
        .name(&name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap();
    name
}

/// Platform staff configure the merchant accounts and the sets that charge together; a tenant is
/// charged through the platform default until it is assigned its own set. Credentials stay in
/// Secrets Manager: no answer carries one, and the client built from the configuration charges the
/// sandbox.
#[tokio::test]
async fn platform_staff_configure_accounts_and_each_tenant_is_charged_through_its_set() {
    use serde_json::json;
    let s = Sandboxes::start().await;
    let w = crate::world::World::new().await;
    let staff = w.person(w.platform, &["FINANCE_ADMIN"]).await;
    let tenant = w.tenant().await;
    let nmi_secret = secret(&w, json!({"security_key": NMI_KEY})).await;
    let authnet_secret = secret(&w, json!({"login_id": AUTHNET_LOGIN, "transaction_key": AUTHNET_KEY})).await;
    let accounts = "/api/v1/admin/payments/merchant-accounts";
    // Every problem at once.
    let r = w.post(accounts, json!({"gateway": "stripe", "base_url": "ftp://x/y"})).by(&staff).send().await;
    assert_eq!(r.status, 422, "{}", r.body);
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["gateway", "name", "base_url", "credentials_secret"], "{}", r.body);
    let nmi_account = w
        .post(accounts, json!({"gateway": "nmi", "name": "Platform NMI", "base_url": s.nmi, "credentials_secret": nmi_secret}))
        .by(&staff)
        .expect(201)
        .await;
    let authnet_account = w
        .post(
            accounts,
            json!({"gateway": "authorize_net", "name": "Platform Authorize.net", "base_url": s.authorize_net,
            "credentials_secret": authnet_secret}),
        )
        .by(&staff)
        .expect(201)
        .await;
    let default_set = w
        .post("/api/v1/admin/payments/account-sets", json!({"name": "Platform", "descriptor": "REGEN*GATEWAY",
            "primary_gateway": "nmi", "nmi_account_id": nmi_account["id"], "authorize_net_account_id": authnet_account["id"],
            "platform_default": true}))
        .by(&staff)
        .expect(201)
        .await;
    // An account named for the wrong gateway is refused.
    let wrong = w
        .post(
            "/api/v1/admin/payments/account-sets",
            json!({"name": "Wrong", "descriptor": "X", "primary_gateway": "nmi",
            "nmi_account_id": authnet_account["id"]}),
        )
        .by(&staff)
        .send()
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert_eq!(wrong.body["errors"][0]["code"], "wrong_gateway");
    let path = format!("/api/v1/admin/tenants/{tenant}/payment-accounts");
    let effective = w.get(&path).by(&staff).expect(200).await;
    assert_eq!(effective["source"], "platform_default");
    assert_eq!(effective["account_set"]["id"], default_set["id"]);
    assert_eq!(effective["can_fail_over"], true);
    // The tenant's own set: its own descriptor, Authorize.net only (no failover possible).
    let own = w
        .post(
            "/api/v1/admin/payments/account-sets",
            json!({"name": "Apex private label", "descriptor": "APEX*REGEN",
            "primary_gateway": "authorize_net", "authorize_net_account_id": authnet_account["id"]}),
        )
        .by(&staff)
        .expect(201)
        .await;
    let assigned = w.put(&path, json!({"account_set_id": own["id"]})).by(&staff).expect(200).await;
    assert_eq!(
        (assigned["source"].as_str(), assigned["can_fail_over"].as_bool()),
        (Some("assigned"), Some(false))
    );
    assert_eq!(assigned["account_set"]["descriptor"], "APEX*REGEN");
    // Disabling the NMI account: the default set can no longer fail over.
    w.patch(format!("{accounts}/{}", nmi_account["id"].as_str().unwrap()), json!({"enabled": false}))
        .by(&staff)
        .expect(200)
        .await;
    let back = w.put(&path, json!({"account_set_id": null})).by(&staff).expect(200).await;
    assert_eq!(
        (back["source"].as_str(), back["can_fail_over"].as_bool()),
        (Some("platform_default"), Some(false))
    );
    w.patch(format!("{accounts}/{}", nmi_account["id"].as_str().unwrap()), json!({"enabled": true}))
        .by(&staff)
        .expect(200)
        .await;
    // No answer carries a credential; every change is audited.
    let listed = w.get(accounts).by(&staff).expect(200).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for text in [listed.to_string(), nmi_account.to_string(), authnet_account.to_string()] {
        for credential in [NMI_KEY, AUTHNET_LOGIN, AUTHNET_KEY] {
            assert!(!text.contains(credential), "{credential} in {text}");
        }
    }
    let actions = w.audit_actions(None).await;
    for action in [
        "payments.merchant_account_created",
        "payments.merchant_account_updated",
        "payments.account_set_created",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    let tenants = w.audit_actions(Some(tenant)).await;
    assert_eq!(
        tenants.iter().filter(|a| *a == "payments.tenant_accounts_assigned").count(),
        2,
        "{tenants:?}"
    );
    // The clients built from the configuration (credentials from Secrets Manager) charge the sandboxes.
    for (account, provider) in [(&nmi_account, "nmi"), (&authnet_account, "authorize_net")] {
        let id: uuid::Uuid = account["id"].as_str().unwrap().parse().unwrap();
        let configured: gateway::payments::MerchantAccount = merchant_account(&w, id).await;
        let g = gateway::payments::gateway(&w.state, &configured).await.unwrap();
        let r = reference();
        let source = token(provider, s.token(provider).await);
        approved(
            run(
                g.as_ref(),
                &r,
                Operation::Authorize { source, amount: usd(1000), billing: Billing::default() },
            )
            .await,
        );
        assert_eq!(booked(&s, provider, &r).await["authorized"], 1000);
    }
}

/// A configured merchant account, read through the payments context's public API.
async fn merchant_account(w: &crate::world::World, id: uuid::Uuid) -> gateway::payments::MerchantAccount {
    let mut conn = w.state.ops_db().await.unwrap().conn().await.unwrap();
    let tx = conn.transaction().await.unwrap();
    gateway::payments::account(&tx, id).await.unwrap()
}

/// Sandboxes whose accounts are `w`'s platform default set (NMI primary, Authorize.net second),
/// configured through the admin routes as platform staff would.
pub async fn configured(w: &crate::world::World) -> Sandboxes {
    use serde_json::json;
    let s = Sandboxes::start().await;
    let staff = w.person(w.platform, &["FINANCE_ADMIN"]).await;
    let nmi_secret = secret(w, json!({"security_key": NMI_KEY})).await;
    let authnet_secret = secret(w, json!({"login_id": AUTHNET_LOGIN, "transaction_key": AUTHNET_KEY})).await;
    let accounts = "/api/v1/admin/payments/merchant-accounts";
    let n = unique();
    let nmi = w
        .post(accounts, json!({"gateway": "nmi", "name": format!("NMI {n}"), "base_url": s.nmi, "credentials_secret": nmi_secret}))
        .by(&staff)
        .expect(201)
        .await;
    let authnet = w
        .post(accounts, json!({"gateway": "authorize_net", "name": format!("Authorize.net {n}"), "base_url": s.authorize_net,
            "credentials_secret": authnet_secret}))
        .by(&staff)
        .expect(201)
        .await;
    w.post("/api/v1/admin/payments/account-sets", json!({"name": format!("Platform {n}"), "descriptor": "REGEN*GATEWAY",
        "primary_gateway": "nmi", "nmi_account_id": nmi["id"], "authorize_net_account_id": authnet["id"], "platform_default": true}))
        .by(&staff)
        .expect(201)
        .await;
    s
}

/// A payment method's body with fresh one-time tokens (NMI's, and Authorize.net's when `both`).
pub async fn method_body(s: &Sandboxes, both: bool) -> serde_json::Value {
    let mut tokens = serde_json::json!({"nmi": s.token("nmi").await});
    if both {
        tokens["authorize_net"] = s.token("authorize_net").await.into();
    }
    serde_json::json!({"customer_email": "jane@example.com", "tokens": tokens, "brand": "visa", "last4": "1111",
        "exp_month": 12, "exp_year": 2030, "billing": {"postal_code": "40202"}})
}

/// A stored payment method is the gateways' vault credentials: charged days later, when its
/// one-time tokens are long dead, at either gateway. The answer shows no credential; a method
/// made from one gateway's token cannot fail over, and says so. A card number anywhere in the body
/// is refused before any gateway is called.
#[tokio::test]
async fn a_payment_method_is_stored_in_both_vaults_and_charged_days_later_at_either_gateway() {
    use serde_json::json;
    let w = crate::world::World::new().await;
    let s = configured(&w).await;
    let tenant = w.tenant().await;
    let admin = w.person(tenant, &["TENANT_ADMIN"]).await;
    let made = w.post("/api/v1/payment-methods", method_body(&s, true).await).by(&admin).expect(201).await;
    assert_eq!(made["gateways"], json!(["nmi", "authorize_net"]), "{made}");
    assert_eq!((made["can_fail_over"].as_bool(), made["last4"].as_str()), (Some(true), Some("1111")));
    let shown = w
        .get(format!("/api/v1/payment-methods/{}", made["id"].as_str().unwrap()))
        .by(&admin)
        .expect(200)
        .await;
    let row =
        w.db.admin()
            .await
            .query_one(
                "SELECT credentials FROM payment_methods WHERE id = $1",
                &[&made["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap()],
            )
            .await
            .unwrap();
    let stored: serde_json::Value = row.get(0);
    let credentials: Vec<gateway::payments::VaultCredential> =
        serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(credentials.len(), 2);
    for c in &credentials {
        let id = match c {
            gateway::payments::VaultCredential::Nmi { customer_vault_id } => customer_vault_id.clone(),
            gateway::payments::VaultCredential::AuthorizeNet { customer_profile_id, .. } => {
                customer_profile_id.clone()
            }
        };
        assert!(
            !made.to_string().contains(&id) && !shown.to_string().contains(&id),
            "no credential is shown"
        );
    }
    // Three days on (the tokens died after fifteen minutes): each gateway charges its credential.
    s.advance(3 * 24 * 3600).await;
    for c in &credentials {
        let (g, provider): (Box<dyn Gateway>, &str) = match c.gateway() {
            gateway::payments::GatewayKind::Nmi => (Box::new(nmi(&s, 5000)), "nmi"),
            gateway::payments::GatewayKind::AuthorizeNet => {
                (Box::new(authorize_net(&s, 5000)), "authorize_net")
            }
        };
        let r = reference();
        approved(
            run(
                g.as_ref(),
                &r,
                Operation::Authorize { source: c.source(), amount: usd(2500), billing: Billing::default() },
            )
            .await,
        );
        assert_eq!(booked(&s, provider, &r).await["authorized"], 2500);
    }
    // One gateway's token only: stored there, and it says it cannot fail over.
    let one = w.post("/api/v1/payment-methods", method_body(&s, false).await).by(&admin).expect(201).await;
    assert_eq!((one["gateways"].clone(), one["can_fail_over"].as_bool()), (json!(["nmi"]), Some(false)));
    // A token used once already is refused by the gateway; nothing is stored.
    let mut reused = method_body(&s, false).await;
    w.post("/api/v1/payment-methods", reused.clone()).by(&admin).expect(201).await;
    let again = w.post("/api/v1/payment-methods", reused.clone()).by(&admin).send().await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert_eq!(
        (again.body["errors"][0]["field"].as_str(), again.body["errors"][0]["code"].as_str()),
        (Some("tokens.nmi"), Some("refused"))
    );
    // A card number anywhere in the body: refused before any gateway is called.
    let calls = s.books().await["calls"].clone();
    reused["billing"]["line1"] = json!("4111 1111 1111 1111");
    let refused = w.post("/api/v1/payment-methods", reused).by(&admin).send().await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["code"], "card_number_refused");
    assert!(!refused.body.to_string().contains("4111"), "never echoed");
    assert_eq!(s.books().await["calls"], calls, "no gateway was called");
    // Every problem at once.
    let bad = w
        .post(
            "/api/v1/payment-methods",
            json!({"customer_email": "x", "tokens": {}, "last4": "12", "exp_month": 13, "exp_year": 2001}),
        )
        .by(&admin)
        .send()
        .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["customer_email", "last4", "exp_month", "exp_year", "tokens"], "{}", bad.body);
}
