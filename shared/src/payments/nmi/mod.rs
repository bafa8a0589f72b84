//! The NMI client: the Payment API (`/api/transact.php`) for sales, authorizations, captures,
//! voids, refunds and the customer vault, and the Query API (`/api/query.php`) to find a
//! transaction by our reference or its id. Every call goes through the platform's outbound
//! client; every answer ends in one [`Outcome`] by [`classify`].

mod wire;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use secrecy::SecretString;

use crate::payments::model::{
    Approval, Endpoint, Gateway, GatewayKind, GatewayTransaction, OneTimeToken, Outcome, Request,
    Unavailable, VaultCredential, VaultCustomer, minor_units, transport_outcome,
};
use crate::platform::outbound::{Outbound, Policy};

pub use wire::{Answer, answer};

/// An NMI merchant account's client.
pub struct Nmi {
    outbound: Outbound,
    base_url: String,
    security_key: SecretString,
}

impl Nmi {
    /// A client with an outbound client of its own (tests, benchmarks).
    pub fn new(endpoint: &Endpoint, policy: Policy, security_key: SecretString) -> Result<Self, String> {
        Ok(Self::with_client(endpoint.client(policy)?, &endpoint.base_url, security_key))
    }

    /// A client over a shared outbound client (its pool and TLS set-up made once per instance).
    pub fn with_client(outbound: Outbound, base_url: &str, security_key: SecretString) -> Self {
        Self { outbound, base_url: base_url.trim_end_matches('/').to_owned(), security_key }
    }

    /// POSTs `form` to `transact.php` and classes the answer.
    async fn transact(&self, form: wire::Form, currency: &str) -> Outcome {
        let url = format!("{}/api/transact.php", self.base_url);
        let answer = match self.outbound.post_form(&url, &[], &form).await {
            Ok(a) => a,
            Err(e) => return transport_outcome(&e),
        };
        match answer.text().ok().as_deref().and_then(wire::answer) {
            Some(a) => classify(&a, currency),
            None => Outcome::Unknown { why: "NMI's answer is unreadable or cut off".into() },
        }
    }

    async fn query(&self, form: wire::Form) -> Result<Vec<GatewayTransaction>, Unavailable> {
        let url = format!("{}/api/query.php", self.base_url);
        let unavailable = |why: String| Unavailable { why };
        let answer =
            self.outbound.post_form(&url, &[], &form).await.map_err(|e| unavailable(e.to_string()))?;
        let text = answer.text().map_err(|e| unavailable(e.to_string()))?;
        match wire::query_answer(&text) {
            Some(wire::QueryAnswer::Transactions(t)) => Ok(t),
            Some(wire::QueryAnswer::Error(e)) => Err(unavailable(format!("NMI refused the query: {e}"))),
            None => Err(unavailable("NMI's query answer is unreadable".into())),
        }
    }
}

/// An NMI answer as one outcome: one match over `response_code`, the table of the reference's
/// §2.3. 100 is approved (only with `response=1` and a transaction id); the 2xx are declines;
/// 300 and the configuration and format rejections (410, 411, 440, 441, 460, 461) happen before
/// processing; 400 is the processor's own error (processed, not approved); 420 and 421
/// (communication errors) and 430 (duplicate at the processor: the first may have gone through)
/// are unknown; any code the table does not have is unknown. A duplicate found by the gateway's
/// own check (`Duplicate transaction REFID:…`, answered with 300) means an earlier identical
/// request reached it: unknown, whatever the code.
pub fn classify(a: &Answer, currency: &str) -> Outcome {
    let code = a.response_code.as_deref().and_then(|c| c.parse::<u16>().ok()).unwrap_or(0);
    let reason = a.responsetext.clone().unwrap_or_default();
    let declined = || Outcome::Declined { code: code.to_string(), reason: reason.clone() };
    if reason.to_ascii_lowercase().starts_with("duplicate transaction") {
        return Outcome::Unknown {
            why: format!("NMI found a duplicate of an earlier request ({code}: {reason})"),
        };
    }
    match code {
        100 if a.response.as_deref() == Some("1")
            && (a.transactionid.is_some() || a.customer_vault_id.is_some()) =>
        {
            Outcome::Approved(Approval {
                transaction_id: a.transactionid.clone(),
                auth_code: a.authcode.clone(),
                amount: a.amount_authorized.as_deref().and_then(|v| minor_units(v, currency)),
                last4: a
                    .cc_number
                    .as_deref()
                    .map(|n| n.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()),
                brand: None,
                vault: a.customer_vault_id.clone().map(|id| VaultCredential::Nmi { customer_vault_id: id }),
            })
        }
        100 => Outcome::Unknown { why: format!("NMI answered 100 without an approval ({reason})") },
        200..=299 => declined(),
        300 | 410 | 411 | 440 | 441 | 460 | 461 => Outcome::NotProcessed {
            why: format!("NMI rejected the request before processing ({code}: {reason})"),
            answered: true,
        },
        400 => declined(),
        420 | 421 => {
            Outcome::Unknown { why: format!("NMI reported a communication error ({code}: {reason})") }
        }
        430 => Outcome::Unknown { why: format!("NMI reported a duplicate at the processor ({reason})") },
        other => Outcome::Unknown {
            why: format!("NMI answered a code its table does not have ({other}: {reason})"),
        },
    }
}

impl Gateway for Nmi {
    fn kind(&self) -> GatewayKind {
        GatewayKind::Nmi
    }

    fn execute<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let currency = request.operation.currency();
            if let Some(refused) = request.unsendable() {
                return refused;
            }
            match wire::transact(&self.security_key, &request.reference, &request.operation) {
                Ok(form) => self.transact(form, currency).await,
                Err(why) => Outcome::NotProcessed { why: why.into(), answered: false },
            }
        })
    }

    fn vault<'a>(&'a self, token: &'a OneTimeToken, customer: &'a VaultCustomer) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let form = wire::add_customer(&self.security_key, token.expose(), customer);
            self.transact(form, "USD").await
        })
    }

    fn find_by_reference<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Vec<GatewayTransaction>, Unavailable>> {
        Box::pin(self.query(wire::query_by_reference(&self.security_key, reference)))
    }

    fn find_by_id<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<GatewayTransaction>, Unavailable>> {
        Box::pin(async move {
            Ok(self.query(wire::query_by_id(&self.security_key, id)).await?.into_iter().find(|t| t.id == id))
        })
    }

    fn unsettled(&self) -> BoxFuture<'_, Result<Vec<GatewayTransaction>, Unavailable>> {
        Box::pin(self.query(wire::query_unsettled(&self.security_key)))
    }

    fn settled(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<GatewayTransaction>, Unavailable>> {
        Box::pin(self.query(wire::query_settled(&self.security_key, from, to)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(response: &str, code: &str, text: &str) -> Answer {
        Answer {
            response: Some(response.into()),
            responsetext: Some(text.into()),
            transactionid: Some("5448910".into()),
            response_code: Some(code.into()),
            ..Default::default()
        }
    }

    /// Every code of the reference's §2.3 table, one by one.
    #[test]
    fn every_response_code_has_its_class() {
        let table: &[(&str, &str, &str)] = &[
            ("1", "100", "approved"),
            ("2", "200", "declined"),
            ("2", "201", "declined"),
            ("2", "202", "declined"),
            ("2", "203", "declined"),
            ("2", "204", "declined"),
            ("2", "220", "declined"),
            ("2", "221", "declined"),
            ("2", "222", "declined"),
            ("2", "223", "declined"),
            ("2", "224", "declined"),
            ("2", "225", "declined"),
            ("2", "240", "declined"),
            ("2", "250", "declined"),
            ("2", "251", "declined"),
            ("2", "252", "declined"),
            ("2", "253", "declined"),
            ("2", "260", "declined"),
            ("2", "261", "declined"),
            ("2", "262", "declined"),
            ("2", "263", "declined"),
            ("2", "264", "declined"),
            ("3", "300", "not_processed"),
            ("3", "400", "declined"),
            ("3", "410", "not_processed"),
            ("3", "411", "not_processed"),
            ("3", "420", "unknown"),
            ("3", "421", "unknown"),
            ("3", "430", "unknown"),
            ("3", "440", "not_processed"),
            ("3", "441", "not_processed"),
            ("3", "460", "not_processed"),
            ("3", "461", "not_processed"),
            ("3", "0", "unknown"),
            ("3", "999", "unknown"),
        ];
        for (response, code, class) in table {
            assert_eq!(
                classify(&with(response, code, "text"), "USD").class(),
                *class,
                "response_code {code}"
            );
        }
        let approved = classify(&with("1", "100", "SUCCESS"), "USD");
        let Outcome::Approved(a) = approved else { panic!() };
        assert_eq!(a.transaction_id.as_deref(), Some("5448910"));
        let mut no_id = with("1", "100", "SUCCESS");
        no_id.transactionid = None;
        assert_eq!(classify(&no_id, "USD").class(), "unknown", "an approval without a transaction id");
        let duplicate = with("3", "300", "Duplicate transaction REFID:3161475842");
        assert_eq!(classify(&duplicate, "USD").class(), "unknown", "a duplicate means the first reached NMI");
        let Outcome::Declined { code, reason } = classify(&with("2", "200", "DECLINE"), "USD") else {
            panic!()
        };
        assert_eq!((code.as_str(), reason.as_str()), ("200", "DECLINE"));
    }

    #[test]
    fn a_partial_approval_and_a_vault_id_are_read() {
        let mut a = with("1", "100", "SUCCESS");
        a.amount_authorized = Some("5.00".into());
        a.customer_vault_id = Some("998877".into());
        a.cc_number = Some("4xxxxxxxxxxx1111".into());
        let Outcome::Approved(approval) = classify(&a, "USD") else { panic!() };
        assert_eq!(approval.amount, Some(500));
        assert_eq!(approval.last4.as_deref(), Some("1111"));
        assert_eq!(approval.vault, Some(VaultCredential::Nmi { customer_vault_id: "998877".into() }));
    }
}
