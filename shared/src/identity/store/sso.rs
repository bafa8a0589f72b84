//! `sso_providers` and `sso_logins`.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::{PendingLogin, SsoProvider};
use crate::platform::tenant::TenantId;

/// An enabled provider's configuration, its client secret still sealed.
pub(crate) struct ProviderRow {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: Option<Vec<u8>>,
    pub scopes: String,
    pub allow_provisioning: bool,
    pub default_role: Option<String>,
}

pub(crate) async fn enabled_provider(
    tx: &Transaction<'_>,
    tenant: TenantId,
    name: &str,
) -> Result<Option<ProviderRow>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT issuer, client_id, client_secret_sealed, scopes, allow_provisioning, default_role
               FROM sso_providers WHERE tenant_id = $1 AND name = $2 AND enabled",
            &[&tenant.as_uuid(), &name],
        )
        .await?
        .map(|row| ProviderRow {
            issuer: row.get(0),
            client_id: row.get(1),
            client_secret_sealed: row.get(2),
            scopes: row.get(3),
            allow_provisioning: row.get(4),
            default_role: row.get(5),
        }))
}

/// A provider's configuration as saved (`client_secret_sealed: None` keeps the stored secret).
pub(crate) struct ProviderUpsert<'a> {
    pub tenant: TenantId,
    pub name: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret_sealed: Option<Vec<u8>>,
    pub scopes: &'a str,
    pub allow_provisioning: bool,
    pub default_role: Option<&'a str>,
    pub enabled: bool,
    pub now: DateTime<Utc>,
}

pub(crate) async fn put_provider(
    tx: &Transaction<'_>,
    p: &ProviderUpsert<'_>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO sso_providers (tenant_id, name, issuer, client_id, client_secret_sealed, scopes,
                                    allow_provisioning, default_role, enabled, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (tenant_id, name) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
             client_secret_sealed = COALESCE(EXCLUDED.client_secret_sealed, sso_providers.client_secret_sealed),
             scopes = EXCLUDED.scopes, allow_provisioning = EXCLUDED.allow_provisioning,
             default_role = EXCLUDED.default_role, enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at",
        &[
            &p.tenant.as_uuid(),
            &p.name,
            &p.issuer,
            &p.client_id,
            &p.client_secret_sealed,
            &p.scopes,
            &p.allow_provisioning,
            &p.default_role,
            &p.enabled,
            &p.now,
        ],
    )
    .await?;
    Ok(())
}

/// The tenant's providers (or the one named `only`), by name; `redirect_uri` is left empty.
pub(crate) async fn providers(
    tx: &Transaction<'_>,
    tenant: TenantId,
    only: Option<&str>,
) -> Result<Vec<SsoProvider>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "SELECT name, issuer, client_id, client_secret_sealed IS NOT NULL, scopes, allow_provisioning,
                    default_role, enabled
               FROM sso_providers WHERE tenant_id = $1 AND ($2::text IS NULL OR name = $2) ORDER BY name",
            &[&tenant.as_uuid(), &only],
        )
        .await?
        .iter()
        .map(|r| SsoProvider {
            name: r.get(0),
            issuer: r.get(1),
            client_id: r.get(2),
            has_client_secret: r.get(3),
            scopes: r.get(4),
            allow_provisioning: r.get(5),
            default_role: r.get(6),
            enabled: r.get(7),
            redirect_uri: String::new(),
        })
        .collect())
}

/// A started sign-in.
pub(crate) struct NewLogin<'a> {
    pub tenant: TenantId,
    pub provider: &'a str,
    pub state_hash: &'a [u8],
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub redirect_uri: &'a str,
    pub binding_hash: &'a [u8],
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) async fn insert_login(
    tx: &Transaction<'_>,
    l: &NewLogin<'_>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO sso_logins (id, tenant_id, provider, state_hash, nonce, pkce_verifier, redirect_uri,
                                 binding_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &Uuid::now_v7(),
            &l.tenant.as_uuid(),
            &l.provider,
            &l.state_hash,
            &l.nonce,
            &l.pkce_verifier,
            &l.redirect_uri,
            &l.binding_hash,
            &l.now,
            &l.expires_at,
        ],
    )
    .await?;
    Ok(())
}

/// Spends the live sign-in of `provider` with this state and browser binding; `None` if there is
/// none (invalid, used, expired, or another browser).
pub(crate) async fn spend_login(
    tx: &Transaction<'_>,
    state_hash: &[u8],
    provider: &str,
    binding_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<PendingLogin>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "UPDATE sso_logins SET completed_at = $3
              WHERE state_hash = $1 AND provider = $2 AND completed_at IS NULL AND expires_at > $3
                AND binding_hash = $4
             RETURNING nonce, pkce_verifier, redirect_uri",
            &[&state_hash, &provider, &now, &binding_hash],
        )
        .await?
        .map(|row| PendingLogin { nonce: row.get(0), pkce_verifier: row.get(1), redirect_uri: row.get(2) }))
}

/// The membership status of the user with `email` in `tenant`, if the tenant is active and they
/// are a member.
pub(crate) async fn member_by_email(
    tx: &Transaction<'_>,
    tenant: TenantId,
    email: &str,
) -> Result<Option<(Uuid, String)>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT u.id, m.status FROM users u
               JOIN tenant_users m ON m.user_id = u.id AND m.tenant_id = $1
               JOIN tenants t ON t.id = m.tenant_id AND t.status = 'active'
              WHERE u.email = $2",
            &[&tenant.as_uuid(), &email],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}
