//! The provider sandboxes (`tests/sandboxes/providers.py`): one process per test, serving NMI and
//! Authorize.net on loopback ports of their own, with the control API that issues one-time tokens,
//! injects faults, moves the sandbox's clock, settles batches and shows the sandbox's own books.

use serde_json::{Value, json};

use crate::support;

pub struct Sandboxes {
    _child: tokio::process::Child,
    pub control: String,
    pub nmi: String,
    pub authorize_net: String,
    http: reqwest::Client,
}

/// The sandboxes' credentials (tests/sandboxes/README.md).
pub const NMI_KEY: &str = "sandbox-nmi-security-key";
pub const AUTHNET_LOGIN: &str = "sandbox-authnet-login";
pub const AUTHNET_KEY: &str = "sandbox-authnet-transaction-key";

impl Sandboxes {
    pub async fn start() -> Self {
        let script = gateway_functions::local::repo_root().join("tests/sandboxes/providers.py");
        let mut cmd = tokio::process::Command::new("python3");
        cmd.arg(script).args(["--nmi-port", "0", "--authorize-net-port", "0", "--control-port", "0"]);
        let (child, line) =
            support::spawn_announcing(cmd, "sandboxes listening ", 20, "the provider sandboxes").await;
        let url = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name} in {line:?}"))
                .to_owned()
        };
        Self {
            control: url("control"),
            nmi: url("nmi"),
            authorize_net: url("authorize_net"),
            _child: child,
            http: support::http_client(),
        }
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.control));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("the sandbox's control API answers");
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "control {path}: {status} {body}");
        body
    }

    /// A one-time token, as the provider's browser tokenization would hand it to a customer.
    pub async fn token(&self, provider: &str) -> String {
        let body = json!({"provider": provider, "last4": "1111", "brand": "visa", "exp": "12/30"});
        let r = self.control(reqwest::Method::POST, "/_control/tokens", Some(body)).await;
        r["token"].as_str().unwrap().to_owned()
    }

    /// Injects a fault (`count`: the next N matching calls; `None`: until cleared).
    pub async fn fault(&self, provider: &str, kind: &str, count: Option<u32>, delay_ms: Option<u64>) {
        let mut body = json!({"provider": provider, "kind": kind});
        if let Some(n) = count {
            body["count"] = json!(n);
        }
        if let Some(ms) = delay_ms {
            body["delay_ms"] = json!(ms);
        }
        self.control(reqwest::Method::POST, "/_control/faults", Some(body)).await;
    }

    pub async fn clear_faults(&self) {
        self.control(reqwest::Method::DELETE, "/_control/faults", None).await;
    }

    /// The sandbox's own books for `reference` (every transaction carrying it).
    pub async fn ledger(&self, provider: &str, reference: &str) -> Vec<Value> {
        let r = self
            .control(
                reqwest::Method::GET,
                &format!("/_control/ledger?provider={provider}&reference={reference}"),
                None,
            )
            .await;
        r["transactions"].as_array().cloned().unwrap_or_default()
    }

    /// The whole ledger answer (transactions and call counts).
    pub async fn books(&self) -> Value {
        self.control(reqwest::Method::GET, "/_control/ledger", None).await
    }

    pub async fn settle(&self, provider: &str) -> Value {
        self.control(reqwest::Method::POST, "/_control/settle", Some(json!({"provider": provider}))).await
    }

    pub async fn advance(&self, seconds: u64) {
        self.control(reqwest::Method::POST, "/_control/clock", Some(json!({"advance_seconds": seconds})))
            .await;
    }
}
