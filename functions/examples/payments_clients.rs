//! `scripts/bench payments-clients [N]`: a direct authorize + void against each provider sandbox
//! through the real clients (release build), N pairs each (default 300) after 20 to warm up:
//! p50 and p99 of the pair. The base the payment orchestrator compares itself with.
//!
//! Takes the sandboxes' URLs from `SANDBOX_CONTROL_URL`, `SANDBOX_NMI_URL` and
//! `SANDBOX_AUTHORIZE_NET_URL` (scripts/bench starts them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use gateway::payments::{
    AuthorizeNet, Billing, Endpoint, Gateway, Money, Nmi, OneTimeToken, Operation, Outcome, PaymentSource,
    Request,
};
use gateway::platform::outbound::Policy;
use secrecy::SecretString;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run through scripts/bench"))
}

async fn token(control: &str, provider: &str) -> String {
    let client = reqwest::Client::new();
    let body = serde_json::json!({"provider": provider, "last4": "1111", "brand": "visa", "exp": "12/30"});
    let r: serde_json::Value = client
        .post(format!("{control}/_control/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["token"].as_str().unwrap().to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let control = env("SANDBOX_CONTROL_URL");
    let endpoint = |url: String| Endpoint {
        base_url: url,
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(5),
    };
    let secret = |s: &str| SecretString::from(s.to_owned());
    let nmi = Nmi::new(&endpoint(env("SANDBOX_NMI_URL")), Policy::Local, secret("sandbox-nmi-security-key"))
        .unwrap();
    let authnet = AuthorizeNet::new(
        &endpoint(env("SANDBOX_AUTHORIZE_NET_URL")),
        Policy::Local,
        secret("sandbox-authnet-login"),
        secret("sandbox-authnet-transaction-key"),
    )
    .unwrap();
    let gateways: [(&str, &dyn Gateway); 2] = [("nmi", &nmi), ("authorize_net", &authnet)];
    for (provider, g) in gateways {
        let mut times = Vec::with_capacity(n);
        for i in 0..n + 20 {
            let value = token(&control, provider).await;
            let source = match provider {
                "nmi" => PaymentSource::NmiToken(OneTimeToken::new(value)),
                _ => PaymentSource::AuthorizeNetOpaque(OneTimeToken::new(value)),
            };
            let reference = format!("bench{i:06}{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let amount = Money::new(1000, "USD").unwrap();
            let started = Instant::now();
            let auth = g
                .execute(&Request {
                    reference: reference.clone(),
                    operation: Operation::Authorize { source, amount, billing: Billing::default() },
                })
                .await;
            let Outcome::Approved(a) = auth else { panic!("{provider}: {auth:?}") };
            let void = Operation::Void { transaction_id: a.transaction_id.unwrap() };
            let voided = g.execute(&Request { reference: format!("{reference}v"), operation: void }).await;
            assert!(matches!(voided, Outcome::Approved(_)), "{provider}: {voided:?}");
            if i >= 20 {
                times.push(started.elapsed());
            }
        }
        times.sort();
        println!(
            "payments-clients {provider}: authorize + void p50 {:.2} ms, p99 {:.2} ms ({n} pairs, sandbox on loopback)",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
}
