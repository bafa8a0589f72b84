//! The payments context's rules: merchant accounts and account sets (platform configuration),
//! what a tenant is charged through, and the gateway clients an account set gives.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::payments::authorize_net::AuthorizeNet;
use crate::payments::model::{
    AccountFields, AccountSet, Credentials, Endpoint, Error, Gateway, GatewayKind, MerchantAccount,
    NewAccountSet, TenantAccounts, default_base_url,
};
use crate::payments::nmi::Nmi;

pub mod cancel;
pub mod payments;
pub mod reauthorize;
pub mod settlement;
pub mod shipments;
pub mod step;
use crate::payments::store;
use crate::platform::outbound::Policy;
use crate::platform::state::AppState;

pub async fn create_account(
    db: &Transaction<'_>,
    fields: &AccountFields,
    now: DateTime<Utc>,
) -> Result<MerchantAccount, Error> {
    let gateway = fields.check(true)?.ok_or_else(|| Error::Config("no gateway".into()))?;
    let base_url = fields.base_url.clone().unwrap_or_else(|| default_base_url(gateway).to_owned());
    store::insert_account(db, Uuid::now_v7(), gateway, fields, &base_url, now).await
}

pub async fn accounts(db: &Transaction<'_>) -> Result<Vec<MerchantAccount>, Error> {
    store::accounts(db).await
}

/// Changes an account; `(before, after)`.
pub async fn update_account(
    db: &Transaction<'_>,
    id: Uuid,
    fields: &AccountFields,
    now: DateTime<Utc>,
) -> Result<(MerchantAccount, MerchantAccount), Error> {
    fields.check(false)?;
    let before =
        store::account_by_id(db, id).await?.ok_or_else(|| Error::NotFound("the merchant account".into()))?;
    let after = store::update_account(db, id, fields, now)
        .await?
        .ok_or_else(|| Error::NotFound("the merchant account".into()))?;
    Ok((before, after))
}

/// Creates a set: each account it names exists and is at the gateway it is named for.
pub async fn create_set(
    db: &Transaction<'_>,
    new: &NewAccountSet,
    now: DateTime<Utc>,
) -> Result<AccountSet, Error> {
    let primary = new.check()?;
    let mut errors = Vec::new();
    for (gateway, id) in new.accounts() {
        let Some(id) = id else { continue };
        let field = format!("{gateway}_account_id");
        match store::account_by_id(db, id).await? {
            None => {
                errors.push(crate::FieldError::new(field, "not_found", "no merchant account has this id"))
            }
            Some(a) if a.gateway != gateway => errors.push(crate::FieldError::new(
                field,
                "wrong_gateway",
                format!("that account is at {}", a.gateway),
            )),
            Some(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    if new.platform_default {
        store::clear_default(db).await?;
    }
    store::insert_set(db, Uuid::now_v7(), new, primary, now).await
}

pub async fn sets(db: &Transaction<'_>) -> Result<Vec<AccountSet>, Error> {
    store::sets(db).await
}

/// What `tenant` is charged through: its own set, or the platform default.
pub async fn for_tenant(db: &Transaction<'_>, tenant: Uuid) -> Result<TenantAccounts, Error> {
    let (source, set) = match store::assigned_set(db, tenant).await? {
        Some(set) => ("assigned", Some(set)),
        None => ("platform_default", store::default_set(db).await?),
    };
    let mut can_fail_over = false;
    if let Some(s) = &set {
        let enabled = |id: Option<Uuid>| async move {
            match id {
                Some(id) => store::account_by_id(db, id).await.map(|a| a.is_some_and(|a| a.enabled)),
                None => Ok(false),
            }
        };
        can_fail_over = enabled(s.nmi_account_id).await? && enabled(s.authorize_net_account_id).await?;
    }
    Ok(TenantAccounts { tenant_id: tenant, source: source.into(), account_set: set, can_fail_over })
}

/// Assigns `tenant` a set (`None`: back to the platform default); the effective accounts after.
pub async fn assign(
    db: &Transaction<'_>,
    tenant: Uuid,
    account_set: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<TenantAccounts, Error> {
    if let Some(id) = account_set {
        if store::set_by_id(db, id).await?.is_none() {
            let e = crate::FieldError::new("account_set_id", "not_found", "no account set has this id");
            return Err(Error::Invalid(vec![e]));
        }
    }
    store::assign(db, tenant, account_set, now).await?;
    for_tenant(db, tenant).await
}

/// How long a gateway call may take: `PAYMENTS_CONNECT_TIMEOUT_MS` (default 2000) to connect,
/// `PAYMENTS_TIMEOUT_MS` (default 4000) in all — two calls one after the other fit well inside a
/// function's 10 s, so the outcome of each can be recorded.
pub fn endpoint(state: &AppState, base_url: &str) -> Endpoint {
    let ms = |name: &str, default: u64| {
        state
            .config()
            .env
            .get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|v| (1..=60_000).contains(v))
            .unwrap_or(default)
    };
    Endpoint {
        base_url: base_url.to_owned(),
        connect_timeout: std::time::Duration::from_millis(ms("PAYMENTS_CONNECT_TIMEOUT_MS", 2_000)),
        timeout: std::time::Duration::from_millis(ms("PAYMENTS_TIMEOUT_MS", 4_000)),
    }
}

/// The instance's outbound client for gateway calls, with the configured timeouts: built on first
/// use and shared by every merchant account's client (one pool, one TLS set-up per instance).
fn client(state: &AppState) -> Result<&'static crate::platform::outbound::Outbound, Error> {
    static CLIENT: std::sync::OnceLock<crate::platform::outbound::Outbound> = std::sync::OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let built = endpoint(state, "").client(Policy::for_config(state.config())).map_err(Error::Config)?;
    Ok(CLIENT.get_or_init(|| built))
}

/// The client of one merchant account, its credentials read from Secrets Manager (cached by the
/// platform's secrets cache).
pub async fn gateway(state: &AppState, account: &MerchantAccount) -> Result<Box<dyn Gateway>, Error> {
    use crate::platform::capability::Capability;
    state.config().require(&[Capability::PaymentGateways]).map_err(|e| Error::Config(e.to_string()))?;
    let credentials: Credentials = state
        .secrets()
        .await
        .get_json(&account.credentials_secret)
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
    let outbound = client(state)?.clone();
    let wrong =
        || Error::Config(format!("the secret of {} holds another gateway's credentials", account.name));
    Ok(match (account.gateway, credentials) {
        (GatewayKind::Nmi, Credentials::Nmi { security_key }) => {
            Box::new(Nmi::with_client(outbound, &account.base_url, security_key))
        }
        (GatewayKind::AuthorizeNet, Credentials::AuthorizeNet { login_id, transaction_key }) => {
            Box::new(AuthorizeNet::with_client(outbound, &account.base_url, login_id, transaction_key))
        }
        _ => return Err(wrong()),
    })
}

/// A merchant account by id.
pub async fn account(db: &Transaction<'_>, id: Uuid) -> Result<MerchantAccount, Error> {
    store::account_by_id(db, id).await?.ok_or_else(|| Error::NotFound("the merchant account".into()))
}

/// Makes a reusable payment method: each one-time token is stored in its gateway's vault, at the
/// tenant's account for that gateway (its own set or the platform default). The gateway calls
/// happen outside any transaction; the method is written after them with the credentials that
/// were made. `tx` reads the configuration before the calls (then is dropped by the caller);
/// `store` writes after.
pub async fn vault_tokens(
    state: &AppState,
    accounts: &[MerchantAccount],
    tokens: &[(GatewayKind, String)],
    customer: &crate::payments::model::VaultCustomer,
) -> (Vec<crate::payments::model::VaultCredential>, Vec<crate::payments::model::VaultFailure>) {
    use crate::payments::model::{OneTimeToken, Outcome, VaultFailure};
    let mut made = Vec::new();
    let mut failed = Vec::new();
    for (gateway_kind, token) in tokens {
        let fail = |outcome: &str, reason: String| VaultFailure {
            gateway: *gateway_kind,
            outcome: outcome.into(),
            reason,
        };
        let Some(account) = accounts.iter().find(|a| a.gateway == *gateway_kind && a.enabled) else {
            failed.push(fail("no_account", format!("no enabled {gateway_kind} account charges this tenant")));
            continue;
        };
        let client = match gateway(state, account).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(account = %account.name, error = %e, "a merchant account's client could not be made");
                failed.push(fail("not_processed", "the merchant account is misconfigured".into()));
                continue;
            }
        };
        match client.vault(&OneTimeToken::new(token.clone()), customer).await {
            Outcome::Approved(a) => match a.vault {
                Some(credential) => made.push(credential),
                None => {
                    failed.push(fail("unknown", "the gateway answered without a vault credential".into()))
                }
            },
            Outcome::Declined { code, reason } => failed.push(fail("declined", format!("{code}: {reason}"))),
            // Refused by the gateway itself (a dead token): the request's fault, not the gateway's.
            Outcome::NotProcessed { why, answered: true } => failed.push(fail("refused", why)),
            Outcome::NotProcessed { why, answered: false } => failed.push(fail("not_processed", why)),
            Outcome::Unknown { why } => failed.push(fail("unknown", why)),
        }
    }
    (made, failed)
}

/// The enabled accounts of `tenant`'s effective set.
pub async fn accounts_for(db: &Transaction<'_>, tenant: Uuid) -> Result<Vec<MerchantAccount>, Error> {
    let set = match store::assigned_set(db, tenant).await? {
        Some(set) => Some(set),
        None => store::default_set(db).await?,
    };
    let mut out = Vec::new();
    if let Some(set) = set {
        for id in [set.nmi_account_id, set.authorize_net_account_id].into_iter().flatten() {
            out.extend(store::account_by_id(db, id).await?.filter(|a| a.enabled));
        }
    }
    Ok(out)
}

pub async fn method(db: &Transaction<'_>, id: Uuid) -> Result<crate::payments::model::PaymentMethod, Error> {
    store::method_by_id(db, id).await?.ok_or_else(|| Error::NotFound("the payment method".into()))
}

/// The stored method a request names in `payment_method_id` (none: none named); one the tenant
/// does not have is that field's error.
pub async fn named_method(
    db: &Transaction<'_>,
    id: Option<Uuid>,
) -> Result<Option<crate::payments::model::PaymentMethod>, Error> {
    let Some(id) = id else { return Ok(None) };
    method(db, id).await.map(Some).map_err(|_| {
        Error::Invalid(vec![crate::FieldError::new(
            "payment_method_id",
            "not_found",
            "no payment method of this tenant has this id",
        )])
    })
}

/// Makes a reusable payment method from one-time tokens: each is stored in its gateway's vault at
/// the tenant's account there, outside any transaction; then the method is written (and audited)
/// with the credentials made. Nothing is written when no gateway stored it: 422 when every
/// gateway declined or refused the tokens (or has no account), 503 otherwise.
pub async fn create_method(
    state: &AppState,
    db: &crate::platform::db::Db,
    tenant: crate::platform::tenant::TenantId,
    actor: &crate::platform::audit::Actor<'_>,
    new: &crate::payments::model::NewPaymentMethod,
) -> Result<crate::payments::model::PaymentMethod, Error> {
    use crate::platform::db::scoped_tx;
    let now = state.clock().now();
    let tokens = new.check(now)?;
    let accounts = {
        let mut conn = db.conn().await?;
        let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
        accounts_for(&tx, tenant.as_uuid()).await?
    };
    let id = Uuid::now_v7();
    let customer = crate::payments::model::VaultCustomer {
        reference: id.simple().to_string()[..20].to_owned(),
        email: Some(new.customer_email.trim().to_owned()),
        billing: new.billing(),
    };
    let (credentials, not_stored) = vault_tokens(state, &accounts, &tokens, &customer).await;
    if credentials.is_empty() {
        if not_stored.iter().all(|f| matches!(f.outcome.as_str(), "declined" | "refused" | "no_account")) {
            let errors = not_stored
                .iter()
                .map(|f| {
                    crate::FieldError::new(
                        format!("tokens.{}", f.gateway),
                        f.outcome.clone(),
                        f.reason.clone(),
                    )
                })
                .collect();
            return Err(Error::Invalid(errors));
        }
        return Err(Error::VaultUnavailable(not_stored));
    }
    let method = crate::payments::model::PaymentMethod {
        id,
        customer_email: new.customer_email.trim().to_owned(),
        brand: new.brand.clone(),
        last4: new.last4.clone(),
        exp_month: new.exp_month,
        exp_year: new.exp_year,
        gateways: credentials.iter().map(|c| c.gateway()).collect(),
        can_fail_over: credentials.len() == 2,
        not_stored: Vec::new(),
        created_at: now,
        credentials,
    };
    let mut conn = db.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    let mut stored = store::insert_method(&tx, tenant.as_uuid(), &method).await?;
    let entry =
        crate::platform::audit::Entry::new("payment_method.created", "payment_method", id).after(&stored);
    crate::platform::audit::record_as(&tx, Some(tenant), actor, now, entry).await?;
    tx.commit().await?;
    stored.not_stored = not_stored;
    Ok(stored)
}
