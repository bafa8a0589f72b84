//! Authorize.net's JSON API (`/xml/v1/request.api`): one endpoint, the root key names the call.
//! The JSON is mapped onto the XML schema, so **element order matters**: every struct here
//! declares its fields in the schema's order and serde writes them in that order. Answers begin
//! with a UTF-8 byte-order mark, stripped before reading. As `../shared/reference/payments.md` §3
//! gives them.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::payments::model::{
    Billing, GatewayTransaction, Operation, PaymentSource, TransactionStatus, VaultCustomer, minor_units,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantAuthentication {
    name: String,
    transaction_key: String,
}

impl MerchantAuthentication {
    pub fn new(login_id: &SecretString, transaction_key: &SecretString) -> Self {
        Self {
            name: login_id.expose_secret().to_owned(),
            transaction_key: transaction_key.expose_secret().to_owned(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTransaction {
    merchant_authentication: MerchantAuthentication,
    ref_id: String,
    transaction_request: TransactionRequest,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct TransactionRequest {
    transaction_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment: Option<Payment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<ProfileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ref_trans_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<Order>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<Customer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bill_to: Option<BillTo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Payment {
    OpaqueData(OpaqueData),
    /// Only a refund's: the last four and `XXXX` (the schema's way to name the card refunded). It
    /// holds four digits, never a card number.
    CreditCard(RefundCard),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpaqueData {
    data_descriptor: &'static str,
    data_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundCard {
    card_number: String,
    expiration_date: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileRef {
    customer_profile_id: String,
    payment_profile: PaymentProfileRef,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentProfileRef {
    payment_profile_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    invoice_number: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Customer {
    email: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct BillTo {
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
}

impl BillTo {
    fn of(b: &Billing) -> Option<Self> {
        let bill = Self {
            first_name: b.first_name.clone(),
            last_name: b.last_name.clone(),
            address: b.line1.clone(),
            city: b.city.clone(),
            state: b.state.clone(),
            zip: b.postal_code.clone(),
            country: b.country.clone(),
        };
        let empty = [
            &bill.first_name,
            &bill.last_name,
            &bill.address,
            &bill.city,
            &bill.state,
            &bill.zip,
            &bill.country,
        ]
        .iter()
        .all(|f| f.is_none());
        (!empty).then_some(bill)
    }
}

const ACCEPT: &str = "COMMON.ACCEPT.INAPP.PAYMENT";

/// A request's body: `{"<call>": <body>}`, the body's fields in their declared (schema) order. A
/// `serde_json::Value` would sort them.
fn root<T: Serialize>(call: &str, body: &T) -> String {
    let inner = serde_json::to_string(body).unwrap_or_default();
    format!("{{\"{call}\":{inner}}}")
}

fn source(tx: &mut TransactionRequest, source: &PaymentSource) -> Result<(), &'static str> {
    match source {
        PaymentSource::AuthorizeNetOpaque(token) => {
            tx.payment = Some(Payment::OpaqueData(OpaqueData {
                data_descriptor: ACCEPT,
                data_value: token.expose().to_owned(),
            }))
        }
        PaymentSource::AuthorizeNetProfile { customer_profile_id, payment_profile_id } => {
            tx.profile = Some(ProfileRef {
                customer_profile_id: customer_profile_id.clone(),
                payment_profile: PaymentProfileRef { payment_profile_id: payment_profile_id.clone() },
            })
        }
        PaymentSource::NmiToken(_) | PaymentSource::NmiVault { .. } => {
            return Err("the payment method has no credential at Authorize.net");
        }
    }
    Ok(())
}

/// The `createTransactionRequest` of an operation, under its root key. `Err` when it cannot be
/// sent to Authorize.net (a source of the other gateway, a refund without the card's last four).
pub fn create_transaction(
    auth: MerchantAuthentication,
    reference: &str,
    op: &Operation,
) -> Result<String, &'static str> {
    let mut tx = TransactionRequest::default();
    let order = || Some(Order { invoice_number: reference.to_owned() });
    match op {
        Operation::Sale { source: s, amount, billing }
        | Operation::Authorize { source: s, amount, billing } => {
            tx.transaction_type = if matches!(op, Operation::Sale { .. }) {
                "authCaptureTransaction"
            } else {
                "authOnlyTransaction"
            };
            tx.amount = Some(amount.decimal());
            tx.currency_code = Some(amount.currency().to_owned());
            source(&mut tx, s)?;
            tx.order = order();
            tx.customer = billing.email.clone().map(|email| Customer { email });
            tx.bill_to = BillTo::of(billing);
        }
        Operation::Capture { transaction_id, amount } => {
            tx.transaction_type = "priorAuthCaptureTransaction";
            tx.amount = Some(amount.decimal());
            tx.ref_trans_id = Some(transaction_id.clone());
            tx.order = order();
        }
        Operation::Void { transaction_id } => {
            tx.transaction_type = "voidTransaction";
            tx.ref_trans_id = Some(transaction_id.clone());
            tx.order = order();
        }
        Operation::Refund { transaction_id, amount, account_last4 } => {
            let last4 = account_last4
                .as_deref()
                .filter(|l| l.len() == 4 && l.bytes().all(|b| b.is_ascii_digit()))
                .ok_or("a refund at Authorize.net needs the card's last four")?;
            let amount = amount.ok_or("a refund at Authorize.net names its amount")?;
            tx.transaction_type = "refundTransaction";
            tx.amount = Some(amount.decimal());
            tx.currency_code = Some(amount.currency().to_owned());
            tx.payment = Some(Payment::CreditCard(RefundCard {
                card_number: format!("XXXX{last4}"),
                expiration_date: "XXXX",
            }));
            tx.ref_trans_id = Some(transaction_id.clone());
            tx.order = order();
        }
    }
    let body = CreateTransaction {
        merchant_authentication: auth,
        ref_id: reference.to_owned(),
        transaction_request: tx,
    };
    Ok(root("createTransactionRequest", &body))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateCustomerProfile {
    merchant_authentication: MerchantAuthentication,
    profile: NewProfile,
    validation_mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewProfile {
    merchant_customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    payment_profiles: NewPaymentProfile,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewPaymentProfile {
    customer_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bill_to: Option<BillTo>,
    payment: Payment,
}

/// `createCustomerProfileRequest`: the opaque data becomes a customer profile and its payment
/// profile. `merchantCustomerId` is at most 20 characters.
pub fn create_customer_profile(
    auth: MerchantAuthentication,
    token: &str,
    customer: &VaultCustomer,
) -> String {
    let body = CreateCustomerProfile {
        merchant_authentication: auth,
        profile: NewProfile {
            merchant_customer_id: customer.reference.chars().take(20).collect(),
            email: customer.email.clone(),
            payment_profiles: NewPaymentProfile {
                customer_type: "individual",
                bill_to: BillTo::of(&customer.billing),
                payment: Payment::OpaqueData(OpaqueData {
                    data_descriptor: ACCEPT,
                    data_value: token.to_owned(),
                }),
            },
        },
        validation_mode: "none",
    };
    root("createCustomerProfileRequest", &body)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetTransactionDetails {
    merchant_authentication: MerchantAuthentication,
    trans_id: String,
}

pub fn get_transaction_details(auth: MerchantAuthentication, id: &str) -> String {
    root(
        "getTransactionDetailsRequest",
        &GetTransactionDetails { merchant_authentication: auth, trans_id: id.to_owned() },
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sorting {
    order_by: &'static str,
    order_descending: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    limit: u32,
    offset: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetUnsettledTransactionList {
    merchant_authentication: MerchantAuthentication,
    sorting: Sorting,
    paging: Paging,
}

/// `getUnsettledTransactionListRequest`, newest first, one page of up to 1000 (`offset` from 1).
pub fn get_unsettled_transaction_list(auth: MerchantAuthentication, offset: u32) -> String {
    let body = GetUnsettledTransactionList {
        merchant_authentication: auth,
        sorting: Sorting { order_by: "submitTimeUTC", order_descending: true },
        paging: Paging { limit: 1000, offset },
    };
    root("getUnsettledTransactionListRequest", &body)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetSettledBatchList {
    merchant_authentication: MerchantAuthentication,
    include_statistics: bool,
    first_settlement_date: String,
    last_settlement_date: String,
}

pub fn get_settled_batch_list(auth: MerchantAuthentication, first: &str, last: &str) -> String {
    let body = GetSettledBatchList {
        merchant_authentication: auth,
        include_statistics: false,
        first_settlement_date: first.to_owned(),
        last_settlement_date: last.to_owned(),
    };
    root("getSettledBatchListRequest", &body)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetTransactionList {
    merchant_authentication: MerchantAuthentication,
    batch_id: String,
    sorting: Sorting,
    paging: Paging,
}

pub fn get_transaction_list(auth: MerchantAuthentication, batch_id: &str, offset: u32) -> String {
    let body = GetTransactionList {
        merchant_authentication: auth,
        batch_id: batch_id.to_owned(),
        sorting: Sorting { order_by: "submitTimeUTC", order_descending: false },
        paging: Paging { limit: 1000, offset },
    };
    root("getTransactionListRequest", &body)
}

// ---------------------------------------------------------------------------------------------
// Answers

/// An answer's bytes as JSON of type `T`: the byte-order mark Authorize.net puts first removed.
pub fn read<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Option<T> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    serde_json::from_slice(body).ok()
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Messages {
    pub result_code: String,
    #[serde(default)]
    pub message: Vec<Message>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub code: String,
    #[serde(default)]
    pub text: String,
}

impl Messages {
    pub fn first_code(&self) -> &str {
        self.message.first().map(|m| m.code.as_str()).unwrap_or("")
    }

    pub fn first_text(&self) -> &str {
        self.message.first().map(|m| m.text.as_str()).unwrap_or("")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionAnswer {
    pub transaction_response: Option<TransactionResponse>,
    pub messages: Messages,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResponse {
    pub response_code: Option<String>,
    pub auth_code: Option<String>,
    pub trans_id: Option<String>,
    pub account_number: Option<String>,
    pub account_type: Option<String>,
    #[serde(default)]
    pub errors: Vec<TransactionError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionError {
    pub error_code: String,
    #[serde(default)]
    pub error_text: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileAnswer {
    pub customer_profile_id: Option<String>,
    #[serde(default)]
    pub customer_payment_profile_id_list: Vec<String>,
    pub messages: Messages,
}

#[derive(Debug, Deserialize)]
pub struct DetailsAnswer {
    pub transaction: Option<Details>,
    pub messages: Messages,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    pub trans_id: String,
    pub transaction_type: Option<String>,
    pub transaction_status: String,
    pub submit_time_u_t_c: Option<String>,
    pub auth_amount: Option<serde_json::Number>,
    pub settle_amount: Option<serde_json::Number>,
    pub order: Option<InvoiceOrder>,
    pub batch: Option<Batch>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceOrder {
    pub invoice_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub batch_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAnswer {
    #[serde(default)]
    pub transactions: Vec<Summary>,
    pub total_num_in_result_set: Option<u32>,
    pub messages: Messages,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trans_id: String,
    pub transaction_status: String,
    pub invoice_number: Option<String>,
    pub submit_time_u_t_c: Option<String>,
    pub settle_amount: Option<serde_json::Number>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchListAnswer {
    #[serde(default)]
    pub batch_list: Vec<Batch>,
    pub messages: Messages,
}

/// Authorize.net's many transaction statuses as our one set; `None` for one we do not know.
pub fn status_of(status: &str) -> Option<TransactionStatus> {
    use TransactionStatus::*;
    Some(match status {
        "authorizedPendingCapture" | "approvedReview" => Authorized,
        "capturedPendingSettlement"
        | "pendingFinalSettlement"
        | "pendingSettlement"
        | "updatingSettlement" => Captured,
        "settledSuccessfully" | "returnedItem" => Settled,
        "refundPendingSettlement" | "refundSettledSuccessfully" => Refunded,
        "voided" => Voided,
        "declined" | "generalError" | "expired" | "failedReview" | "settlementError"
        | "communicationError" => Failed,
        // couldNotVoid: the void failed and the transaction stands as it was, which this status
        // does not say: not a status to act on.
        "FDSPendingReview" | "FDSAuthorizedPendingReview" | "underReview" => Held,
        _ => return None,
    })
}

/// A time as Authorize.net writes it (`2026-11-29T12:00:00Z`, with or without fractions or the
/// `Z`: UTC either way).
fn utc(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.to_utc()).ok().or_else(|| {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc())
    })
}

fn minor(n: &Option<serde_json::Number>) -> i64 {
    n.as_ref().and_then(|n| minor_units(&n.to_string(), "USD")).unwrap_or(0)
}

/// A transaction's details as the gateway's books show it.
pub fn transaction_of(d: &Details) -> Option<GatewayTransaction> {
    let status = status_of(&d.transaction_status)?;
    let settle = minor(&d.settle_amount);
    let refund = d.transaction_type.as_deref() == Some("refundTransaction");
    let captured = match status {
        TransactionStatus::Captured | TransactionStatus::Settled if !refund => settle,
        _ => 0,
    };
    Some(GatewayTransaction {
        id: d.trans_id.clone(),
        reference: d.order.as_ref().and_then(|o| o.invoice_number.clone()),
        status,
        authorized: minor(&d.auth_amount),
        captured,
        refunded: if refund { settle } else { 0 },
        submitted_at: d.submit_time_u_t_c.as_deref().and_then(utc),
        batch_id: d.batch.as_ref().map(|b| b.batch_id.clone()),
    })
}

/// A list's summary as a transaction (the amounts a summary has: what settles).
pub fn summary_of(s: &Summary, batch_id: Option<&str>) -> Option<GatewayTransaction> {
    let status = status_of(&s.transaction_status)?;
    let settle = minor(&s.settle_amount);
    let (authorized, captured, refunded) = match status {
        TransactionStatus::Authorized | TransactionStatus::Held => (settle, 0, 0),
        TransactionStatus::Captured | TransactionStatus::Settled => (settle, settle, 0),
        TransactionStatus::Refunded => (0, 0, settle),
        TransactionStatus::Voided | TransactionStatus::Failed => (settle, 0, 0),
    };
    Some(GatewayTransaction {
        id: s.trans_id.clone(),
        reference: s.invoice_number.clone(),
        status,
        authorized,
        captured,
        refunded,
        submitted_at: s.submit_time_u_t_c.as_deref().and_then(utc),
        batch_id: batch_id.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::model::{Money, OneTimeToken};

    fn auth() -> MerchantAuthentication {
        MerchantAuthentication::new(
            &SecretString::from("5KP3u95bQpv".to_owned()),
            &SecretString::from("346HZ32z3fP4hTG2".to_owned()),
        )
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, "USD").unwrap()
    }

    fn json(v: &str) -> String {
        v.to_owned()
    }

    const AUTH: &str =
        r#""merchantAuthentication":{"name":"5KP3u95bQpv","transactionKey":"346HZ32z3fP4hTG2"}"#;

    /// Golden requests, written from the reference (§3.2, §3.5), byte for byte: the element order
    /// is the schema's.
    #[test]
    fn requests_are_byte_exact_in_schema_order() {
        let billing = Billing {
            first_name: Some("Jane".into()),
            postal_code: Some("46282".into()),
            email: Some("j@x.example".into()),
            ..Default::default()
        };
        let sale = Operation::Sale {
            source: PaymentSource::AuthorizeNetOpaque(OneTimeToken::new("eyJjb2RlIjoiNTBf")),
            amount: usd(1000),
            billing,
        };
        assert_eq!(
            json(&create_transaction(auth(), "att_01", &sale).unwrap()),
            format!(
                r#"{{"createTransactionRequest":{{{AUTH},"refId":"att_01","transactionRequest":{{"transactionType":"authCaptureTransaction","amount":"10.00","currencyCode":"USD","payment":{{"opaqueData":{{"dataDescriptor":"COMMON.ACCEPT.INAPP.PAYMENT","dataValue":"eyJjb2RlIjoiNTBf"}}}},"order":{{"invoiceNumber":"att_01"}},"customer":{{"email":"j@x.example"}},"billTo":{{"firstName":"Jane","zip":"46282"}}}}}}}}"#
            )
        );
        let auth_only = Operation::Authorize {
            source: PaymentSource::AuthorizeNetProfile {
                customer_profile_id: "40338125".into(),
                payment_profile_id: "1000177237".into(),
            },
            amount: usd(19_900),
            billing: Billing::default(),
        };
        assert_eq!(
            json(&create_transaction(auth(), "att_02", &auth_only).unwrap()),
            format!(
                r#"{{"createTransactionRequest":{{{AUTH},"refId":"att_02","transactionRequest":{{"transactionType":"authOnlyTransaction","amount":"199.00","currencyCode":"USD","profile":{{"customerProfileId":"40338125","paymentProfile":{{"paymentProfileId":"1000177237"}}}},"order":{{"invoiceNumber":"att_02"}}}}}}}}"#
            )
        );
        let capture = Operation::Capture { transaction_id: "60012345678".into(), amount: usd(750) };
        assert_eq!(
            json(&create_transaction(auth(), "att_03", &capture).unwrap()),
            format!(
                r#"{{"createTransactionRequest":{{{AUTH},"refId":"att_03","transactionRequest":{{"transactionType":"priorAuthCaptureTransaction","amount":"7.50","refTransId":"60012345678","order":{{"invoiceNumber":"att_03"}}}}}}}}"#
            )
        );
        let void = Operation::Void { transaction_id: "60012345678".into() };
        assert_eq!(
            json(&create_transaction(auth(), "att_04", &void).unwrap()),
            format!(
                r#"{{"createTransactionRequest":{{{AUTH},"refId":"att_04","transactionRequest":{{"transactionType":"voidTransaction","refTransId":"60012345678","order":{{"invoiceNumber":"att_04"}}}}}}}}"#
            )
        );
        let refund = Operation::Refund {
            transaction_id: "60012345678".into(),
            amount: Some(usd(250)),
            account_last4: Some("1111".into()),
        };
        assert_eq!(
            json(&create_transaction(auth(), "att_05", &refund).unwrap()),
            format!(
                r#"{{"createTransactionRequest":{{{AUTH},"refId":"att_05","transactionRequest":{{"transactionType":"refundTransaction","amount":"2.50","currencyCode":"USD","payment":{{"creditCard":{{"cardNumber":"XXXX1111","expirationDate":"XXXX"}}}},"refTransId":"60012345678","order":{{"invoiceNumber":"att_05"}}}}}}}}"#
            )
        );
        let no_last4 =
            Operation::Refund { transaction_id: "1".into(), amount: Some(usd(250)), account_last4: None };
        assert!(create_transaction(auth(), "att_06", &no_last4).is_err());
        let card_number = Operation::Refund {
            transaction_id: "1".into(),
            amount: Some(usd(250)),
            account_last4: Some("4111111111111111".into()),
        };
        assert!(create_transaction(auth(), "att_06", &card_number).is_err(), "never more than the last four");
        let nmi = Operation::Void { transaction_id: "1".into() };
        assert!(create_transaction(auth(), "att_07", &nmi).is_ok());
        let customer = VaultCustomer {
            reference: "pm_01".into(),
            email: Some("j@x.example".into()),
            ..Default::default()
        };
        assert_eq!(
            json(&create_customer_profile(auth(), "nonce-1", &customer)),
            format!(
                r#"{{"createCustomerProfileRequest":{{{AUTH},"profile":{{"merchantCustomerId":"pm_01","email":"j@x.example","paymentProfiles":{{"customerType":"individual","payment":{{"opaqueData":{{"dataDescriptor":"COMMON.ACCEPT.INAPP.PAYMENT","dataValue":"nonce-1"}}}}}}}},"validationMode":"none"}}}}"#
            )
        );
        assert_eq!(
            json(&get_transaction_details(auth(), "60012345678")),
            format!(r#"{{"getTransactionDetailsRequest":{{{AUTH},"transId":"60012345678"}}}}"#)
        );
        assert_eq!(
            json(&get_unsettled_transaction_list(auth(), 1)),
            format!(
                r#"{{"getUnsettledTransactionListRequest":{{{AUTH},"sorting":{{"orderBy":"submitTimeUTC","orderDescending":true}},"paging":{{"limit":1000,"offset":1}}}}}}"#
            )
        );
        assert_eq!(
            json(&get_settled_batch_list(auth(), "2026-11-01T00:00:00Z", "2026-11-29T00:00:00Z")),
            format!(
                r#"{{"getSettledBatchListRequest":{{{AUTH},"includeStatistics":false,"firstSettlementDate":"2026-11-01T00:00:00Z","lastSettlementDate":"2026-11-29T00:00:00Z"}}}}"#
            )
        );
        assert_eq!(
            json(&get_transaction_list(auth(), "12345", 1)),
            format!(
                r#"{{"getTransactionListRequest":{{{AUTH},"batchId":"12345","sorting":{{"orderBy":"submitTimeUTC","orderDescending":false}},"paging":{{"limit":1000,"offset":1}}}}}}"#
            )
        );
    }

    #[test]
    fn statuses_and_details_are_read() {
        let body = "\u{feff}{\"transaction\":{\"transId\":\"60012345678\",\"submitTimeUTC\":\"2026-11-29T12:00:00.123Z\",\"transactionType\":\"authCaptureTransaction\",\"transactionStatus\":\"capturedPendingSettlement\",\"responseCode\":1,\"authAmount\":10.00,\"settleAmount\":10.0,\"order\":{\"invoiceNumber\":\"att_01\"},\"payment\":{\"creditCard\":{\"cardNumber\":\"XXXX1111\",\"expirationDate\":\"XXXX\",\"cardType\":\"Visa\"}}},\"messages\":{\"resultCode\":\"Ok\",\"message\":[{\"code\":\"I00001\",\"text\":\"Successful.\"}]}}";
        let answer: DetailsAnswer = read(body.as_bytes()).unwrap();
        let t = transaction_of(answer.transaction.as_ref().unwrap()).unwrap();
        assert_eq!(t.status, TransactionStatus::Captured);
        assert_eq!((t.authorized, t.captured, t.refunded), (1000, 1000, 0));
        assert_eq!(t.reference.as_deref(), Some("att_01"));
        assert!(t.submitted_at.is_some());
        for (status, ours) in [
            ("authorizedPendingCapture", TransactionStatus::Authorized),
            ("settledSuccessfully", TransactionStatus::Settled),
            ("voided", TransactionStatus::Voided),
            ("declined", TransactionStatus::Failed),
            ("FDSPendingReview", TransactionStatus::Held),
            ("refundSettledSuccessfully", TransactionStatus::Refunded),
        ] {
            assert_eq!(status_of(status), Some(ours), "{status}");
        }
        assert_eq!(status_of("somethingNew"), None);
    }
}
