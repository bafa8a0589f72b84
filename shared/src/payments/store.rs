//! Every SQL string of the payments context.

use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::payments::model::{AccountFields, AccountSet, Error, GatewayKind, MerchantAccount, NewAccountSet};

const ACCOUNT: &str = "id, gateway, name, base_url, credentials_secret, enabled, created_at, updated_at";
const SET: &str = "id, name, descriptor, primary_gateway, nmi_account_id, authorize_net_account_id, \
                   platform_default, created_at, updated_at";

fn gateway(row: &Row, column: &str) -> GatewayKind {
    GatewayKind::parse(row.get::<_, &str>(column)).unwrap_or(GatewayKind::Nmi)
}

fn account(row: &Row) -> MerchantAccount {
    MerchantAccount {
        id: row.get("id"),
        gateway: gateway(row, "gateway"),
        name: row.get("name"),
        base_url: row.get("base_url"),
        credentials_secret: row.get("credentials_secret"),
        enabled: row.get("enabled"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

fn set(row: &Row) -> AccountSet {
    AccountSet {
        id: row.get("id"),
        name: row.get("name"),
        descriptor: row.get("descriptor"),
        primary_gateway: gateway(row, "primary_gateway"),
        nmi_account_id: row.get("nmi_account_id"),
        authorize_net_account_id: row.get("authorize_net_account_id"),
        platform_default: row.get("platform_default"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// A unique violation as a conflict naming what is taken: the one platform default (another set
/// became the default at the same moment) or the name.
fn taken(e: tokio_postgres::Error, what: &str) -> Error {
    if e.code() != Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        return Error::Store(e);
    }
    let constraint = e.as_db_error().and_then(|d| d.constraint()).unwrap_or_default();
    if constraint == "payment_account_sets_one_default" {
        Error::Conflict {
            code: "default_taken",
            detail: "another account set became the platform default; try again".into(),
        }
    } else {
        Error::Conflict { code: "name_taken", detail: format!("{what} with this name exists") }
    }
}

pub async fn insert_account(
    db: &Transaction<'_>,
    id: Uuid,
    gateway: GatewayKind,
    f: &AccountFields,
    base_url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<MerchantAccount, Error> {
    let sql = format!(
        "INSERT INTO merchant_accounts (id, gateway, name, base_url, credentials_secret, enabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {ACCOUNT}"
    );
    let name = f.name.as_deref().unwrap_or_default().trim();
    let row = db
        .query_one(
            &sql,
            &[
                &id,
                &gateway.as_str(),
                &name,
                &base_url,
                &f.credentials_secret,
                &f.enabled.unwrap_or(true),
                &now,
            ],
        )
        .await
        .map_err(|e| taken(e, "a merchant account"))?;
    Ok(account(&row))
}

pub async fn accounts(db: &Transaction<'_>) -> Result<Vec<MerchantAccount>, Error> {
    let rows =
        db.query(&format!("SELECT {ACCOUNT} FROM merchant_accounts ORDER BY gateway, name"), &[]).await?;
    Ok(rows.iter().map(account).collect())
}

pub async fn account_by_id(db: &Transaction<'_>, id: Uuid) -> Result<Option<MerchantAccount>, Error> {
    let row = db.query_opt(&format!("SELECT {ACCOUNT} FROM merchant_accounts WHERE id = $1"), &[&id]).await?;
    Ok(row.as_ref().map(account))
}

pub async fn update_account(
    db: &Transaction<'_>,
    id: Uuid,
    f: &AccountFields,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<MerchantAccount>, Error> {
    let sql = format!(
        "UPDATE merchant_accounts SET name = COALESCE($2, name), base_url = COALESCE($3, base_url),
                credentials_secret = COALESCE($4, credentials_secret), enabled = COALESCE($5, enabled), updated_at = $6
         WHERE id = $1 RETURNING {ACCOUNT}"
    );
    let name = f.name.as_deref().map(str::trim);
    let row = db
        .query_opt(&sql, &[&id, &name, &f.base_url, &f.credentials_secret, &f.enabled, &now])
        .await
        .map_err(|e| taken(e, "a merchant account"))?;
    Ok(row.as_ref().map(account))
}

pub async fn clear_default(db: &Transaction<'_>) -> Result<(), Error> {
    db.execute("UPDATE payment_account_sets SET platform_default = false WHERE platform_default", &[])
        .await?;
    Ok(())
}

pub async fn insert_set(
    db: &Transaction<'_>,
    id: Uuid,
    s: &NewAccountSet,
    primary: GatewayKind,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<AccountSet, Error> {
    let sql = format!(
        "INSERT INTO payment_account_sets (id, name, descriptor, primary_gateway, nmi_account_id, authorize_net_account_id,
                                           platform_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {SET}"
    );
    let row = db
        .query_one(
            &sql,
            &[
                &id,
                &s.name.trim(),
                &s.descriptor.trim(),
                &primary.as_str(),
                &s.nmi_account_id,
                &s.authorize_net_account_id,
                &s.platform_default,
                &now,
            ],
        )
        .await
        .map_err(|e| taken(e, "an account set"))?;
    Ok(set(&row))
}

pub async fn sets(db: &Transaction<'_>) -> Result<Vec<AccountSet>, Error> {
    let rows = db.query(&format!("SELECT {SET} FROM payment_account_sets ORDER BY name"), &[]).await?;
    Ok(rows.iter().map(set).collect())
}

pub async fn set_by_id(db: &Transaction<'_>, id: Uuid) -> Result<Option<AccountSet>, Error> {
    let row = db.query_opt(&format!("SELECT {SET} FROM payment_account_sets WHERE id = $1"), &[&id]).await?;
    Ok(row.as_ref().map(set))
}

pub async fn default_set(db: &Transaction<'_>) -> Result<Option<AccountSet>, Error> {
    let row =
        db.query_opt(&format!("SELECT {SET} FROM payment_account_sets WHERE platform_default"), &[]).await?;
    Ok(row.as_ref().map(set))
}

/// The set assigned to `tenant`, if any.
pub async fn assigned_set(db: &Transaction<'_>, tenant: Uuid) -> Result<Option<AccountSet>, Error> {
    let sql = format!(
        "SELECT {} FROM payment_account_sets s JOIN tenant_payment_accounts t ON t.account_set_id = s.id
         WHERE t.tenant_id = $1",
        SET.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
    );
    let row = db.query_opt(&sql, &[&tenant]).await?;
    Ok(row.as_ref().map(set))
}

pub async fn assign(
    db: &Transaction<'_>,
    tenant: Uuid,
    account_set: Option<Uuid>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    match account_set {
        Some(set) => {
            db.execute(
                "INSERT INTO tenant_payment_accounts (tenant_id, account_set_id, assigned_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id) DO UPDATE SET account_set_id = EXCLUDED.account_set_id, assigned_at = EXCLUDED.assigned_at",
                &[&tenant, &set, &now],
            )
            .await
            .map_err(|e| match e.code() {
                Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) => Error::NotFound("the tenant".into()),
                _ => Error::Store(e),
            })?;
        }
        None => {
            db.execute("DELETE FROM tenant_payment_accounts WHERE tenant_id = $1", &[&tenant]).await?;
        }
    }
    Ok(())
}

const METHOD: &str = "id, customer_email, brand, last4, exp_month, exp_year, credentials, created_at";

fn method(row: &Row) -> crate::payments::model::PaymentMethod {
    let stored: serde_json::Value = row.get("credentials");
    let credentials: Vec<crate::payments::model::VaultCredential> = stored
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| serde_json::from_value(c.clone()).ok())
        .collect();
    let gateways: Vec<GatewayKind> = credentials.iter().map(|c| c.gateway()).collect();
    crate::payments::model::PaymentMethod {
        id: row.get("id"),
        customer_email: row.get("customer_email"),
        brand: row.get("brand"),
        last4: row.get("last4"),
        exp_month: row.get("exp_month"),
        exp_year: row.get("exp_year"),
        can_fail_over: gateways.len() == 2,
        gateways,
        not_stored: Vec::new(),
        created_at: row.get("created_at"),
        credentials,
    }
}

pub async fn insert_method(
    db: &Transaction<'_>,
    tenant: Uuid,
    m: &crate::payments::model::PaymentMethod,
) -> Result<crate::payments::model::PaymentMethod, Error> {
    let credentials = serde_json::to_value(&m.credentials).unwrap_or_default();
    let sql = format!(
        "INSERT INTO payment_methods (id, tenant_id, customer_email, brand, last4, exp_month, exp_year, credentials, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {METHOD}"
    );
    let row = db
        .query_one(
            &sql,
            &[
                &m.id,
                &tenant,
                &m.customer_email,
                &m.brand,
                &m.last4,
                &m.exp_month,
                &m.exp_year,
                &credentials,
                &m.created_at,
            ],
        )
        .await?;
    Ok(method(&row))
}

pub async fn method_by_id(
    db: &Transaction<'_>,
    id: Uuid,
) -> Result<Option<crate::payments::model::PaymentMethod>, Error> {
    let row = db.query_opt(&format!("SELECT {METHOD} FROM payment_methods WHERE id = $1"), &[&id]).await?;
    Ok(row.as_ref().map(method))
}
