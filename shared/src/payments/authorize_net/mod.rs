//! The Authorize.net client: `createTransactionRequest` (authCapture, authOnly, priorAuthCapture,
//! void, refund), customer profiles for the vault, and the reporting calls that find a
//! transaction (`getTransactionDetails`; `getUnsettledTransactionList`, the only way to find one
//! by invoice number; `getSettledBatchList` + `getTransactionList`). Every call goes through the
//! platform's outbound client; every answer ends in one [`Outcome`] by [`classify`].

mod wire;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use crate::payments::model::{
    Approval, Endpoint, Gateway, GatewayKind, GatewayTransaction, Money, OneTimeToken, Operation, Outcome,
    Request, Unavailable, VaultCredential, VaultCustomer, transport_outcome,
};
use crate::platform::outbound::{self, Outbound, Policy};

pub use wire::{TransactionAnswer, TransactionError, TransactionResponse, read};

/// An Authorize.net merchant account's client.
pub struct AuthorizeNet {
    outbound: Outbound,
    url: String,
    login_id: SecretString,
    transaction_key: SecretString,
}

/// Request errors Authorize.net answers before processing anything: a body off the schema
/// (E00003), credentials it does not accept (E00007, E00008), a field it refuses (E00013,
/// E00014, E00015, E00016), a call the account may not make (E00011, E00012 (a duplicate
/// profile), E00044), a payment profile or record not found (E00039, E00040), an invalid one-time
/// token (E00114).
const REQUEST_ERRORS: &[&str] = &[
    "E00003", "E00007", "E00008", "E00011", "E00012", "E00013", "E00014", "E00015", "E00016", "E00039",
    "E00040", "E00044", "E00114",
];

/// Transaction reason codes (with `responseCode` 3) the gateway documents as refusing the request
/// before anything was processed: an amount, card, expiry or field it will not take (5–8, 17, 33,
/// 36, 39), a login it does not know (13), a transaction to act on that is not there or not in a
/// state for it (15, 16, 47, 48, 49, 54, 55, 310, 311), a feature the account does not have (92,
/// 123), and an invalid one-time token (E00114). Every other error is
/// unknown: the gateway may have processed it (11 a duplicate of an earlier one; 19–23, 25, 26, 35,
/// 52, 57–63, 120–122, 180, 181, 191, 261 errors in processing).
const REFUSED_BEFORE_PROCESSING: &[&str] = &[
    "5", "6", "7", "8", "13", "15", "16", "17", "33", "36", "39", "47", "48", "49", "54", "55", "92", "123",
    "310", "311", "E00114",
];

/// An answer of `createTransactionRequest` as one outcome: one match over `responseCode`, then
/// the reason code. 1 approved (with a transaction id); 2 declined; 4 held for review — unknown
/// until `getTransactionDetails` says otherwise; 3 an error: not processed only for the reasons the
/// gateway documents as refusals before processing, unknown otherwise. No transaction response at
/// all: the API-level request errors were not processed; anything else (E00001 unexpected system
/// error, E00053 server too busy, a message we do not know) is unknown.
pub fn classify(answer: &TransactionAnswer) -> Outcome {
    let Some(t) = &answer.transaction_response else {
        let code = answer.messages.first_code();
        let why = format!("Authorize.net: {code} {}", answer.messages.first_text());
        return if REQUEST_ERRORS.contains(&code) {
            Outcome::NotProcessed { why, answered: true }
        } else {
            Outcome::Unknown { why }
        };
    };
    let first = t.errors.first();
    let reason_code = first.map(|e| e.error_code.clone()).unwrap_or_default();
    let reason = first.map(|e| e.error_text.clone()).unwrap_or_default();
    match t.response_code.as_deref().unwrap_or("") {
        "1" => match t.trans_id.as_deref().filter(|id| !id.is_empty() && *id != "0") {
            Some(id) => Outcome::Approved(Approval {
                transaction_id: Some(id.to_owned()),
                auth_code: t.auth_code.clone().filter(|c| !c.is_empty()),
                amount: None,
                last4: t.account_number.as_deref().map(|n| n.trim_start_matches('X').to_owned()),
                brand: t.account_type.clone(),
                vault: None,
            }),
            None => Outcome::Unknown { why: "Authorize.net approved without a transaction id".into() },
        },
        "2" => Outcome::Declined { code: reason_code, reason },
        "3" if REFUSED_BEFORE_PROCESSING.contains(&reason_code.as_str()) => Outcome::NotProcessed {
            why: format!("Authorize.net refused the request ({reason_code}: {reason})"),
            answered: true,
        },
        "3" => Outcome::Unknown {
            why: format!("Authorize.net: an error it may have processed ({reason_code}: {reason})"),
        },
        "4" => Outcome::Unknown { why: "Authorize.net holds the transaction for review".into() },
        other => Outcome::Unknown { why: format!("Authorize.net answered response code {other:?}") },
    }
}

/// A status we do not know could hide a charge: the lookup is unavailable rather than wrong.
fn unknown_status(status: &str) -> Unavailable {
    Unavailable { why: format!("Authorize.net answered a transaction status we do not know ({status:?})") }
}

impl AuthorizeNet {
    /// A client with an outbound client of its own (tests, benchmarks).
    pub fn new(
        endpoint: &Endpoint,
        policy: Policy,
        login_id: SecretString,
        transaction_key: SecretString,
    ) -> Result<Self, String> {
        Ok(Self::with_client(endpoint.client(policy)?, &endpoint.base_url, login_id, transaction_key))
    }

    /// A client over a shared outbound client (its pool and TLS set-up made once per instance).
    pub fn with_client(
        outbound: Outbound,
        base_url: &str,
        login_id: SecretString,
        transaction_key: SecretString,
    ) -> Self {
        let url = format!("{}/xml/v1/request.api", base_url.trim_end_matches('/'));
        Self { outbound, url, login_id, transaction_key }
    }

    fn auth(&self) -> wire::MerchantAuthentication {
        wire::MerchantAuthentication::new(&self.login_id, &self.transaction_key)
    }

    /// POSTs `body`; the answer's bytes.
    async fn call(&self, body: &str) -> Result<Vec<u8>, outbound::Error> {
        Ok(self
            .outbound
            .post(&self.url)
            .header("accept", "application/json")
            .raw_json(body.to_owned())
            .send()
            .await?
            .body)
    }

    /// A reporting call: its answer as `T`, or why it could not be had.
    async fn report<T: DeserializeOwned>(
        &self,
        body: &str,
        messages: impl Fn(&T) -> &wire::Messages,
    ) -> Result<T, Unavailable> {
        let bytes = self.call(body).await.map_err(|e| Unavailable { why: e.to_string() })?;
        let answer: T = wire::read(&bytes)
            .ok_or_else(|| Unavailable { why: "Authorize.net's answer is unreadable".into() })?;
        Ok(answer).and_then(|a| {
            let m = messages(&a);
            if m.result_code == "Ok" || m.first_code() == "E00040" {
                Ok(a)
            } else {
                Err(Unavailable { why: format!("Authorize.net: {} {}", m.first_code(), m.first_text()) })
            }
        })
    }

    async fn details(&self, id: &str) -> Result<Option<GatewayTransaction>, Unavailable> {
        let answer: wire::DetailsAnswer = self
            .report(&wire::get_transaction_details(self.auth(), id), |a: &wire::DetailsAnswer| &a.messages)
            .await?;
        match answer.transaction {
            None => Ok(None),
            Some(d) => wire::transaction_of(&d).map(Some).ok_or_else(|| Unavailable {
                why: format!("an unknown transaction status {:?}", d.transaction_status),
            }),
        }
    }

    async fn unsettled_all(&self) -> Result<Vec<GatewayTransaction>, Unavailable> {
        let mut out = Vec::new();
        for page in 1..=20u32 {
            let answer: wire::ListAnswer = self
                .report(&wire::get_unsettled_transaction_list(self.auth(), page), |a: &wire::ListAnswer| {
                    &a.messages
                })
                .await?;
            let n = answer.transactions.len();
            for t in &answer.transactions {
                out.push(wire::summary_of(t, None).ok_or_else(|| unknown_status(&t.transaction_status))?);
            }
            if n < 1000 || answer.total_num_in_result_set.is_some_and(|total| page * 1000 >= total) {
                break;
            }
        }
        Ok(out)
    }

    async fn settled_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<GatewayTransaction>, Unavailable> {
        let f = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let batches: wire::BatchListAnswer = self
            .report(
                &wire::get_settled_batch_list(self.auth(), &f(from), &f(to)),
                |a: &wire::BatchListAnswer| &a.messages,
            )
            .await?;
        let mut out = Vec::new();
        for batch in &batches.batch_list {
            for page in 1..=20u32 {
                let answer: wire::ListAnswer = self
                    .report(
                        &wire::get_transaction_list(self.auth(), &batch.batch_id, page),
                        |a: &wire::ListAnswer| &a.messages,
                    )
                    .await?;
                let n = answer.transactions.len();
                out.extend(
                    answer.transactions.iter().filter_map(|s| wire::summary_of(s, Some(&batch.batch_id))),
                );
                if n < 1000 {
                    break;
                }
            }
        }
        Ok(out)
    }
}

impl Gateway for AuthorizeNet {
    fn kind(&self) -> GatewayKind {
        GatewayKind::AuthorizeNet
    }

    fn execute<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if let Some(refused) = request.unsendable() {
                return refused;
            }
            // A full refund names its amount here: what the transaction settled for.
            let full;
            let operation = match &request.operation {
                Operation::Refund { transaction_id, amount: None, account_last4 } => {
                    let settled = match self.details(transaction_id).await {
                        Ok(Some(t)) => t.captured - t.refunded,
                        Ok(None) => 0,
                        Err(e) => return Outcome::NotProcessed { why: e.why, answered: false },
                    };
                    let Ok(amount) = Money::new(settled, "USD") else {
                        let why = format!("transaction {transaction_id} has nothing settled to refund");
                        return Outcome::NotProcessed { why, answered: false };
                    };
                    full = Operation::Refund {
                        transaction_id: transaction_id.clone(),
                        amount: Some(amount),
                        account_last4: account_last4.clone(),
                    };
                    &full
                }
                other => other,
            };
            let body = match wire::create_transaction(self.auth(), &request.reference, operation) {
                Ok(body) => body,
                Err(why) => return Outcome::NotProcessed { why: why.into(), answered: false },
            };
            match self.call(&body).await {
                Err(e) => transport_outcome(&e),
                Ok(bytes) => match wire::read::<TransactionAnswer>(&bytes) {
                    Some(answer) => classify(&answer),
                    None => {
                        Outcome::Unknown { why: "Authorize.net's answer is unreadable or cut off".into() }
                    }
                },
            }
        })
    }

    fn vault<'a>(&'a self, token: &'a OneTimeToken, customer: &'a VaultCustomer) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let body = wire::create_customer_profile(self.auth(), token.expose(), customer);
            let bytes = match self.call(&body).await {
                Ok(b) => b,
                Err(e) => return transport_outcome(&e),
            };
            let Some(answer) = wire::read::<wire::ProfileAnswer>(&bytes) else {
                return Outcome::Unknown { why: "Authorize.net's answer is unreadable or cut off".into() };
            };
            let why =
                format!("Authorize.net: {} {}", answer.messages.first_code(), answer.messages.first_text());
            match (answer.customer_profile_id, answer.customer_payment_profile_id_list.first()) {
                (Some(profile), Some(payment)) if answer.messages.result_code == "Ok" => {
                    Outcome::Approved(Approval {
                        vault: Some(VaultCredential::AuthorizeNet {
                            customer_profile_id: profile,
                            payment_profile_id: payment.clone(),
                        }),
                        ..Default::default()
                    })
                }
                _ if REQUEST_ERRORS.contains(&answer.messages.first_code()) => {
                    Outcome::NotProcessed { why, answered: true }
                }
                _ if answer.messages.first_code() == "E00027" => {
                    Outcome::Declined { code: "E00027".into(), reason: why }
                }
                _ => Outcome::Unknown { why },
            }
        })
    }

    fn find_by_reference<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Vec<GatewayTransaction>, Unavailable>> {
        Box::pin(async move {
            // Unsettled first (an attempt whose outcome is unknown is recent); then the batches
            // settled in the last week.
            let ours = |list: Vec<GatewayTransaction>| -> Vec<String> {
                list.into_iter().filter(|t| t.reference.as_deref() == Some(reference)).map(|t| t.id).collect()
            };
            let mut matching = ours(self.unsettled_all().await?);
            if matching.is_empty() {
                let now = Utc::now();
                matching = ours(
                    self.settled_between(now - chrono::Duration::days(7), now + chrono::Duration::days(1))
                        .await?,
                );
            }
            let mut out = Vec::new();
            for id in matching {
                out.extend(self.details(&id).await?);
            }
            Ok(out)
        })
    }

    fn find_by_id<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<GatewayTransaction>, Unavailable>> {
        Box::pin(self.details(id))
    }

    fn unsettled(&self) -> BoxFuture<'_, Result<Vec<GatewayTransaction>, Unavailable>> {
        Box::pin(self.unsettled_all())
    }

    fn settled(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<GatewayTransaction>, Unavailable>> {
        Box::pin(self.settled_between(from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> TransactionAnswer {
        read(body.as_bytes()).expect("reads")
    }

    fn tx(code: &str, error: Option<&str>) -> String {
        let errors = error
            .map(|e| format!(r#","errors":[{{"errorCode":"{e}","errorText":"text {e}"}}]"#))
            .unwrap_or_default();
        format!(
            "\u{feff}{{\"transactionResponse\":{{\"responseCode\":\"{code}\",\"authCode\":\"ABC123\",\"transId\":\"60012345678\",\"accountNumber\":\"XXXX1111\",\"accountType\":\"Visa\"{errors}}},\"refId\":\"att_01\",\"messages\":{{\"resultCode\":\"{}\",\"message\":[{{\"code\":\"{}\",\"text\":\"t\"}}]}}}}",
            if code == "1" { "Ok" } else { "Error" },
            if code == "1" { "I00001" } else { "E00027" }
        )
    }

    /// The reference's §3.3 payload, with its byte-order mark: approved, the last four kept.
    #[test]
    fn an_approval_with_its_byte_order_mark_is_read() {
        let Outcome::Approved(a) = classify(&answer(&tx("1", None))) else { panic!() };
        assert_eq!(a.transaction_id.as_deref(), Some("60012345678"));
        assert_eq!(a.auth_code.as_deref(), Some("ABC123"));
        assert_eq!(a.last4.as_deref(), Some("1111"));
        assert_eq!(a.brand.as_deref(), Some("Visa"));
        assert!(
            read::<TransactionAnswer>(b"\xEF\xBB\xBF{\"transactionResponse\":{\"responseCode\":\"1\"")
                .is_none(),
            "cut off"
        );
    }

    /// Response codes and reason codes, one by one.
    #[test]
    fn every_response_code_has_its_class() {
        let table: &[(&str, Option<&str>, &str)] = &[
            ("1", None, "approved"),
            ("2", Some("2"), "declined"),
            ("2", Some("27"), "declined"),
            ("2", Some("45"), "declined"),
            ("3", Some("11"), "unknown"),
            ("3", Some("35"), "unknown"),
            ("3", Some("52"), "unknown"),
            ("3", Some("180"), "unknown"),
            ("3", Some("261"), "unknown"),
            ("3", None, "unknown"),
            ("3", Some("E00114"), "not_processed"),
            ("3", Some("6"), "not_processed"),
            ("3", Some("13"), "not_processed"),
            ("3", Some("16"), "not_processed"),
            ("3", Some("33"), "not_processed"),
            ("3", Some("54"), "not_processed"),
            ("3", Some("19"), "unknown"),
            ("3", Some("20"), "unknown"),
            ("3", Some("23"), "unknown"),
            ("3", Some("57"), "unknown"),
            ("3", Some("63"), "unknown"),
            ("3", Some("120"), "unknown"),
            ("4", Some("252"), "unknown"),
            ("5", None, "unknown"),
        ];
        for (code, reason, class) in table {
            assert_eq!(
                classify(&answer(&tx(code, *reason))).class(),
                *class,
                "responseCode {code} reason {reason:?}"
            );
        }
        let Outcome::Declined { code, .. } = classify(&answer(&tx("2", Some("2")))) else { panic!() };
        assert_eq!(code, "2");
        let zero = tx("1", None).replace("60012345678", "0");
        assert_eq!(classify(&answer(&zero)).class(), "unknown", "transId 0 (test mode) is no approval");
    }

    #[test]
    fn api_level_errors_are_classed_by_their_code() {
        let api = |code: &str| {
            answer(&format!(
                "\u{feff}{{\"messages\":{{\"resultCode\":\"Error\",\"message\":[{{\"code\":\"{code}\",\"text\":\"t\"}}]}}}}"
            ))
        };
        for code in ["E00003", "E00007", "E00013", "E00015", "E00040", "E00114"] {
            assert_eq!(classify(&api(code)).class(), "not_processed", "{code}");
        }
        for code in ["E00001", "E00053", "E99999"] {
            assert_eq!(classify(&api(code)).class(), "unknown", "{code}");
        }
    }
}
