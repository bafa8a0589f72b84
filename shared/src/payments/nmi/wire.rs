//! NMI's wire formats: the Payment API (`transact.php`: form fields in, a query string out) and
//! the Query API (`query.php`: form fields in, `<nm_response>` XML out). Field names and order as
//! `../shared/reference/payments.md` §2 gives them.

use secrecy::{ExposeSecret, SecretString};

use crate::payments::model::{
    Billing, GatewayTransaction, Money, Operation, PaymentSource, TransactionStatus, VaultCustomer,
    minor_units,
};

/// A request's form fields, in the order they are sent.
pub type Form = Vec<(&'static str, String)>;

fn source_fields(form: &mut Form, source: &PaymentSource) -> Result<(), &'static str> {
    match source {
        PaymentSource::NmiToken(token) => form.push(("payment_token", token.expose().to_owned())),
        PaymentSource::NmiVault { customer_vault_id } => {
            form.push(("customer_vault_id", customer_vault_id.clone()))
        }
        PaymentSource::AuthorizeNetOpaque(_) | PaymentSource::AuthorizeNetProfile { .. } => {
            return Err("the payment method has no credential at NMI");
        }
    }
    Ok(())
}

fn billing_fields(form: &mut Form, billing: &Billing) {
    let fields = [
        ("first_name", &billing.first_name),
        ("last_name", &billing.last_name),
        ("address1", &billing.line1),
        ("city", &billing.city),
        ("state", &billing.state),
        ("zip", &billing.postal_code),
        ("country", &billing.country),
        ("email", &billing.email),
    ];
    form.extend(fields.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
}

fn amount_fields(form: &mut Form, amount: &Money) {
    form.push(("amount", amount.decimal()));
    form.push(("currency", amount.currency().to_owned()));
}

/// The `transact.php` form of an operation. `Err` when the operation cannot be sent to NMI at all
/// (a source of the other gateway).
pub fn transact(key: &SecretString, reference: &str, op: &Operation) -> Result<Form, &'static str> {
    let mut form: Form = vec![("security_key", key.expose_secret().to_owned())];
    match op {
        Operation::Sale { source, amount, billing } | Operation::Authorize { source, amount, billing } => {
            form.push(("type", if matches!(op, Operation::Sale { .. }) { "sale" } else { "auth" }.into()));
            amount_fields(&mut form, amount);
            form.push(("orderid", reference.to_owned()));
            source_fields(&mut form, source)?;
            billing_fields(&mut form, billing);
        }
        Operation::Capture { transaction_id, amount } => {
            form.push(("type", "capture".into()));
            form.push(("transactionid", transaction_id.clone()));
            form.push(("amount", amount.decimal()));
            form.push(("orderid", reference.to_owned()));
        }
        Operation::Void { transaction_id } => {
            form.push(("type", "void".into()));
            form.push(("transactionid", transaction_id.clone()));
            form.push(("orderid", reference.to_owned()));
        }
        Operation::Refund { transaction_id, amount, .. } => {
            form.push(("type", "refund".into()));
            form.push(("transactionid", transaction_id.clone()));
            if let Some(amount) = amount {
                form.push(("amount", amount.decimal()));
            }
            form.push(("orderid", reference.to_owned()));
        }
    }
    Ok(form)
}

/// The vault's `add_customer` form: the token becomes a `customer_vault_id`.
pub fn add_customer(key: &SecretString, token: &str, customer: &VaultCustomer) -> Form {
    let mut form: Form = vec![
        ("security_key", key.expose_secret().to_owned()),
        ("customer_vault", "add_customer".into()),
        ("payment_token", token.to_owned()),
        ("customer_id", customer.reference.clone()),
    ];
    billing_fields(&mut form, &Billing { email: customer.email.clone(), ..customer.billing.clone() });
    form
}

/// A `query.php` form: the key and the filters.
fn query(key: &SecretString, filters: &[(&'static str, String)]) -> Form {
    let mut form: Form = vec![("security_key", key.expose_secret().to_owned())];
    form.extend(filters.iter().cloned());
    form
}

/// The transactions carrying our reference (`order_id`).
pub fn query_by_reference(key: &SecretString, reference: &str) -> Form {
    query(key, &[("order_id", reference.to_owned())])
}

/// One transaction by NMI's id.
pub fn query_by_id(key: &SecretString, id: &str) -> Form {
    query(key, &[("transaction_id", id.to_owned())])
}

/// Every transaction not yet settled: authorized, or captured and waiting for the batch.
pub fn query_unsettled(key: &SecretString) -> Form {
    query(key, &[("condition", "pending,pendingsettlement".into())])
}

/// Every transaction settled between `from` and `to` (NMI's `YYYYMMDDhhmmss`).
pub fn query_settled(
    key: &SecretString,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Form {
    let format = |t: chrono::DateTime<chrono::Utc>| t.format("%Y%m%d%H%M%S").to_string();
    query(key, &[("condition", "complete".into()), ("start_date", format(from)), ("end_date", format(to))])
}

/// A `transact.php` answer: its fields by name (the query string's order does not matter).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Answer {
    pub response: Option<String>,
    pub responsetext: Option<String>,
    pub authcode: Option<String>,
    pub transactionid: Option<String>,
    pub orderid: Option<String>,
    pub response_code: Option<String>,
    pub customer_vault_id: Option<String>,
    pub amount_authorized: Option<String>,
    pub cc_number: Option<String>,
}

/// Reads a `transact.php` answer. `None` when it is not a query string with the fields every
/// answer has (`response` and `response_code`): a body that broke off or is something else.
pub fn answer(body: &str) -> Option<Answer> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body.trim()).ok()?;
    let mut a = Answer::default();
    for (k, v) in pairs {
        let v = Some(v).filter(|v| !v.is_empty());
        match k.as_str() {
            "response" => a.response = v,
            "responsetext" => a.responsetext = v,
            "authcode" => a.authcode = v,
            "transactionid" => a.transactionid = v,
            "orderid" => a.orderid = v,
            "response_code" => a.response_code = v,
            "customer_vault_id" => a.customer_vault_id = v,
            "amount_authorized" => a.amount_authorized = v,
            "cc_number" => a.cc_number = v,
            _ => {}
        }
    }
    let digits = |v: &Option<String>| {
        v.as_deref().is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    };
    (digits(&a.response) && digits(&a.response_code)).then_some(a)
}

/// What a `query.php` answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryAnswer {
    Transactions(Vec<GatewayTransaction>),
    /// `<error_response>` (a bad key, a bad filter).
    Error(String),
}

fn status_of(condition: &str) -> Option<TransactionStatus> {
    Some(match condition {
        "pending" | "in_progress" => TransactionStatus::Authorized,
        "pendingsettlement" => TransactionStatus::Captured,
        "complete" => TransactionStatus::Settled,
        "canceled" => TransactionStatus::Voided,
        "failed" | "abandoned" => TransactionStatus::Failed,
        // "unknown" (and anything new) is not a status to act on: the lookup is unavailable.
        _ => return None,
    })
}

/// Reads a `query.php` answer. `None` when it is not an `<nm_response>` document.
pub fn query_answer(xml: &str) -> Option<QueryAnswer> {
    let doc = roxmltree::Document::parse(xml.trim_start_matches('\u{feff}')).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "nm_response" {
        return None;
    }
    let text = |node: roxmltree::Node, name: &str| {
        node.children().find(|c| c.has_tag_name(name)).and_then(|c| c.text()).map(|t| t.trim().to_owned())
    };
    if let Some(error) = text(root, "error_response") {
        return Some(QueryAnswer::Error(error));
    }
    let mut out = Vec::new();
    for t in root.children().filter(|c| c.has_tag_name("transaction")) {
        let currency =
            text(t, "currency").filter(|c| c.len() == 3).unwrap_or_else(|| "USD".into()).to_uppercase();
        let (mut authorized, mut captured, mut refunded, mut voided) = (0, 0, 0, false);
        let mut submitted_at = None;
        for action in t.children().filter(|c| c.has_tag_name("action")) {
            if text(action, "success").as_deref() != Some("1") {
                continue;
            }
            let amount = text(action, "amount").and_then(|a| minor_units(&a, &currency))?;
            let kind = text(action, "action_type").unwrap_or_default();
            match kind.as_str() {
                "sale" => {
                    authorized += amount;
                    captured += amount;
                }
                "auth" => authorized += amount,
                "capture" => captured += amount,
                "refund" | "credit" => refunded += amount,
                "void" => voided = true,
                _ => {}
            }
            if submitted_at.is_none() && matches!(kind.as_str(), "sale" | "auth") {
                submitted_at = text(action, "date").and_then(|d| {
                    chrono::NaiveDateTime::parse_from_str(&d, "%Y%m%d%H%M%S").ok().map(|n| n.and_utc())
                });
            }
        }
        let mut status = status_of(&text(t, "condition").unwrap_or_default())?;
        if voided {
            // A voided sale moved no money, as Authorize.net reports it.
            status = TransactionStatus::Voided;
            captured = 0;
        } else if refunded > 0 && refunded >= captured {
            status = TransactionStatus::Refunded;
        }
        out.push(GatewayTransaction {
            id: text(t, "transaction_id")?,
            reference: text(t, "order_id").filter(|s| !s.is_empty()),
            status,
            authorized,
            captured,
            refunded,
            submitted_at,
            batch_id: None,
        });
    }
    Some(QueryAnswer::Transactions(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::model::OneTimeToken;

    fn key() -> SecretString {
        SecretString::from("6457Thfj624V5r7WUwc5v6a68Zsd6YEm".to_owned())
    }

    fn encoded(form: &Form) -> String {
        serde_urlencoded::to_string(form).unwrap()
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, "USD").unwrap()
    }

    /// Golden requests, written from the reference (§2.2, §2.5, §2.6), byte for byte.
    #[test]
    fn requests_are_byte_exact() {
        let billing = Billing {
            first_name: Some("Jane".into()),
            postal_code: Some("40202".into()),
            ..Default::default()
        };
        let token = PaymentSource::NmiToken(OneTimeToken::new("00000000-000000-000000-000000000000"));
        let sale = Operation::Sale { source: token.clone(), amount: usd(1000), billing: billing.clone() };
        assert_eq!(
            encoded(&transact(&key(), "att_01", &sale).unwrap()),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&type=sale&amount=10.00&currency=USD&orderid=att_01\
             &payment_token=00000000-000000-000000-000000000000&first_name=Jane&zip=40202"
        );
        let vault = PaymentSource::NmiVault { customer_vault_id: "1234567".into() };
        let auth = Operation::Authorize { source: vault, amount: usd(19_900), billing: Billing::default() };
        assert_eq!(
            encoded(&transact(&key(), "att_02", &auth).unwrap()),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&type=auth&amount=199.00&currency=USD&orderid=att_02\
             &customer_vault_id=1234567"
        );
        let capture = Operation::Capture { transaction_id: "7654321".into(), amount: usd(150) };
        assert_eq!(
            encoded(&transact(&key(), "att_03", &capture).unwrap()),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&type=capture&transactionid=7654321&amount=1.50&orderid=att_03"
        );
        let void = Operation::Void { transaction_id: "7654321".into() };
        assert_eq!(
            encoded(&transact(&key(), "att_04", &void).unwrap()),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&type=void&transactionid=7654321&orderid=att_04"
        );
        let full = Operation::Refund { transaction_id: "7654321".into(), amount: None, account_last4: None };
        assert_eq!(
            encoded(&transact(&key(), "att_05", &full).unwrap()),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&type=refund&transactionid=7654321&orderid=att_05"
        );
        let partial = Operation::Refund {
            transaction_id: "7654321".into(),
            amount: Some(usd(250)),
            account_last4: None,
        };
        assert_eq!(
            encoded(&transact(&key(), "att_06", &partial).unwrap()),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&type=refund&transactionid=7654321&amount=2.50&orderid=att_06"
        );
        let customer = VaultCustomer {
            reference: "pm_01".into(),
            email: Some("a@b.example".into()),
            ..Default::default()
        };
        assert_eq!(
            encoded(&add_customer(&key(), "tok-1", &customer)),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&customer_vault=add_customer&payment_token=tok-1\
             &customer_id=pm_01&email=a%40b.example"
        );
        assert_eq!(
            encoded(&query_by_reference(&key(), "att_01")),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&order_id=att_01"
        );
        assert_eq!(
            encoded(&query_by_id(&key(), "5448910")),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&transaction_id=5448910"
        );
        assert_eq!(
            encoded(&query_unsettled(&key())),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&condition=pending%2Cpendingsettlement"
        );
        let at = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc()
        };
        assert_eq!(
            encoded(&query_settled(&key(), at(1), at(29))),
            "security_key=6457Thfj624V5r7WUwc5v6a68Zsd6YEm&condition=complete&start_date=20261101000000&end_date=20261129000000"
        );
        let other = PaymentSource::AuthorizeNetOpaque(OneTimeToken::new("x"));
        let sale = Operation::Sale { source: other, amount: usd(1000), billing };
        assert!(transact(&key(), "att_07", &sale).is_err(), "another gateway's token is never sent to NMI");
    }

    #[test]
    fn answers_are_read_and_a_cut_off_one_is_not() {
        let a = answer(
            "response=1&responsetext=SUCCESS&authcode=123456&transactionid=5448910&avsresponse=&cvvresponse=M\
             &orderid=att_01&type=sale&response_code=100",
        )
        .unwrap();
        assert_eq!(a.transactionid.as_deref(), Some("5448910"));
        assert_eq!(a.authcode.as_deref(), Some("123456"));
        assert_eq!(a.response_code.as_deref(), Some("100"));
        assert_eq!(answer("response=1&responsetext=SUCC"), None);
        assert_eq!(answer("<html>Bad gateway</html>"), None);
        assert_eq!(answer(""), None);
    }

    /// A trimmed Query API answer in the shape of the reference's §2.5 (one transaction, its
    /// actions), then not found, then an authentication error.
    #[test]
    fn query_answers_map_to_one_status() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<nm_response>
	<transaction>
		<transaction_id>5448910</transaction_id>
		<condition>pendingsettlement</condition>
		<order_id>att_01</order_id>
		<transaction_type>cc</transaction_type>
		<currency>USD</currency>
		<cc_number>4xxxxxxxxxxx1111</cc_number>
		<action>
			<amount>10.00</amount>
			<action_type>auth</action_type>
			<date>20261129120000</date>
			<success>1</success>
			<source>api</source>
			<response_text>SUCCESS</response_text>
			<response_code>100</response_code>
		</action>
		<action>
			<amount>7.50</amount>
			<action_type>capture</action_type>
			<date>20261129120100</date>
			<success>1</success>
			<source>api</source>
			<response_text>SUCCESS</response_text>
			<response_code>100</response_code>
		</action>
	</transaction>
</nm_response>"#;
        let Some(QueryAnswer::Transactions(t)) = query_answer(xml) else { panic!() };
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].id, "5448910");
        assert_eq!(t[0].reference.as_deref(), Some("att_01"));
        assert_eq!(t[0].status, TransactionStatus::Captured);
        assert_eq!((t[0].authorized, t[0].captured, t[0].refunded), (1000, 750, 0));
        assert_eq!(query_answer("<nm_response></nm_response>"), Some(QueryAnswer::Transactions(vec![])));
        assert_eq!(
            query_answer(
                "<nm_response><error_response>Invalid Username/Password REFID:1</error_response></nm_response>"
            ),
            Some(QueryAnswer::Error("Invalid Username/Password REFID:1".into()))
        );
        assert_eq!(query_answer("<nm_response><transaction>"), None, "cut off");
        for (condition, status) in [
            ("pending", TransactionStatus::Authorized),
            ("complete", TransactionStatus::Settled),
            ("canceled", TransactionStatus::Voided),
            ("failed", TransactionStatus::Failed),
        ] {
            let xml = format!(
                "<nm_response><transaction><transaction_id>1</transaction_id><condition>{condition}</condition></transaction></nm_response>"
            );
            let Some(QueryAnswer::Transactions(t)) = query_answer(&xml) else { panic!() };
            assert_eq!(t[0].status, status, "{condition}");
        }
    }
}
