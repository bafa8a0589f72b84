//! Postgres: a small connection pool over `tokio-postgres` (TLS-capable for RDS Proxy), the
//! tenant-scoped transaction that row-level security relies on, and the embedded migrations.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Transaction};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::config::{DbConfig, DbSource, DbTls};
use super::secrets::{SecretError, Secrets};
use crate::platform::tenant::TenantId;

mod embedded {
    refinery::embed_migrations!("../infra/migrations");
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database settings: {0}")]
    Settings(String),
    #[error("database credentials: {0}")]
    Credentials(#[from] SecretError),
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("migration: {0}")]
    Migration(#[from] refinery::Error),
}

/// The RDS secret shape (extra members such as host and engine are ignored).
#[derive(serde::Deserialize)]
struct DbCredentials {
    username: String,
    password: SecretString,
}

/// A pool of connections for one database role. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("status", &self.pool.status()).finish()
    }
}

impl Db {
    /// Builds the pool. Connections open lazily, so this fails only on bad settings or an
    /// unreadable credentials secret, never because the database is down.
    pub async fn connect(cfg: &DbConfig, secrets: Option<&Secrets>) -> Result<Self, DbError> {
        let mut pg: tokio_postgres::Config = match &cfg.source {
            DbSource::Url(url) => url
                .expose_secret()
                .parse()
                .map_err(|e: tokio_postgres::Error| DbError::Settings(e.to_string()))?,
            DbSource::Host { host, port, dbname, secret_id } => {
                let secrets = secrets.ok_or_else(|| {
                    DbError::Settings("a Secrets Manager client is needed for DB_HOST settings".into())
                })?;
                let creds: DbCredentials = secrets.get_json(secret_id).await?;
                let mut c = tokio_postgres::Config::new();
                c.host(host)
                    .port(*port)
                    .dbname(dbname)
                    .user(&creds.username)
                    .password(creds.password.expose_secret());
                c
            }
        };
        pg.ssl_mode(match cfg.tls {
            DbTls::Disable => tokio_postgres::config::SslMode::Disable,
            DbTls::Prefer => tokio_postgres::config::SslMode::Prefer,
            DbTls::Require => tokio_postgres::config::SslMode::Require,
        });
        pg.connect_timeout(Duration::from_millis(cfg.connect_timeout_ms));
        pg.application_name("regen-gateway");
        let tls = tls_connector(cfg.ca_bundle.as_deref())?;
        let manager =
            Manager::from_config(pg, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let timeout = Some(Duration::from_millis(cfg.connect_timeout_ms));
        let pool = Pool::builder(manager)
            .max_size(cfg.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(timeout)
            .create_timeout(timeout)
            .recycle_timeout(timeout)
            .build()
            .map_err(|e| DbError::Settings(e.to_string()))?;
        Ok(Self { pool })
    }

    /// A connection from the pool.
    pub async fn conn(&self) -> Result<Object, DbError> {
        Ok(self.pool.get().await?)
    }

    /// Runs the embedded migrations that have not run yet; returns the names applied.
    /// Needs the schema owner's connection ([`super::config::DbRole::Admin`]).
    pub async fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        let client: &mut tokio_postgres::Client = &mut conn;
        let report = embedded::migrations::runner().run_async(client).await?;
        Ok(report.applied_migrations().iter().map(|m| m.to_string()).collect())
    }
}

/// The one way to open a transaction for a request or a job: `app.tenant_id` and `app.user_id`
/// set for row-level security (either may be absent). The settings are transaction-local, so they
/// cannot leak to the next user of the pooled connection.
pub async fn scoped_tx(
    conn: &mut Object,
    tenant: Option<TenantId>,
    user: Option<uuid::Uuid>,
) -> Result<Transaction<'_>, DbError> {
    let tx = conn.transaction().await?;
    tx.execute(
        "SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)",
        &[
            &tenant.map(|t| t.to_string()).unwrap_or_default(),
            &user.map(|u| u.to_string()).unwrap_or_default(),
        ],
    )
    .await?;
    Ok(tx)
}

/// Sets the tenant of an open transaction once it is known (a login picks one midway).
pub async fn scope_tenant(tx: &tokio_postgres::Transaction<'_>, tenant: TenantId) -> Result<(), DbError> {
    tx.execute("SELECT set_config('app.tenant_id', $1, true)", &[&tenant.to_string()]).await?;
    Ok(())
}

/// Sets the user of an open transaction once it is known (a token names them).
pub async fn scope_user(tx: &tokio_postgres::Transaction<'_>, user: uuid::Uuid) -> Result<(), DbError> {
    tx.execute("SELECT set_config('app.user_id', $1, true)", &[&user.to_string()]).await?;
    Ok(())
}

/// The row `id` of `select` (a query whose main table is aliased `alias`), read as `T`, locked for
/// update when `lock`; `None` when the acting tenant has none.
pub async fn by_id<T>(
    tx: &tokio_postgres::Transaction<'_>,
    select: &str,
    alias: &str,
    id: uuid::Uuid,
    lock: bool,
    read: fn(&tokio_postgres::Row) -> T,
) -> Result<Option<T>, tokio_postgres::Error> {
    let lock = if lock { format!(" FOR UPDATE OF {alias}") } else { String::new() };
    Ok(tx.query_opt(&format!("{select} WHERE {alias}.id = $1{lock}"), &[&id]).await?.map(|r| read(&r)))
}

fn tls_connector(ca_bundle: Option<&str>) -> Result<MakeRustlsConnect, DbError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_bundle {
        Some(path) => {
            let certs =
                CertificateDer::pem_file_iter(path).map_err(|e| DbError::Tls(format!("{path}: {e}")))?;
            for cert in certs {
                let cert = cert.map_err(|e| DbError::Tls(format!("{path}: {e}")))?;
                roots.add(cert).map_err(|e| DbError::Tls(format!("{path}: {e}")))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The `migrate` function: applies pending migrations as the schema owner.
pub async fn migrate_task(
    state: &super::state::AppState,
) -> Result<serde_json::Value, crate::platform::error::TaskError> {
    let admin = state.connect_db(super::config::DbRole::Admin).await?;
    let applied = admin.migrate().await?;
    tracing::info!(count = applied.len(), "migrations applied");
    Ok(serde_json::json!({ "applied": applied }))
}
