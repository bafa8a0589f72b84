//! Typed configuration, read once from the environment at cold start.
//!
//! [`Env`] is a snapshot of variables (the process environment in a Lambda function, a map built
//! from `template.yaml` in the local runner), so no code ever calls `set_var`. Errors name every
//! variable that is missing or malformed, not just the first.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;

use super::capability::Capabilities;
use super::capability::Capability::{self, *};

/// A snapshot of environment variables.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may hold credentials (DATABASE_URL); only the names are printed.
        f.debug_struct("Env").field("names", &self.vars.keys().collect::<Vec<_>>()).finish()
    }
}

impl Env {
    pub fn from_process() -> Self {
        Self { vars: std::env::vars().collect() }
    }

    pub fn from_map<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self { vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// This snapshot with `other`'s variables laid over it.
    pub fn overlay(mut self, other: &Env) -> Self {
        self.vars.extend(other.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    /// A variable's value; empty counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("missing environment variable(s): {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("invalid environment variable {name}: {reason}")]
    Invalid { name: String, reason: String },
    /// The function touched something its registry entry does not declare.
    #[error(
        "function {function} does not declare the capability {capability} (add it to its registry entry)"
    )]
    Undeclared { function: String, capability: &'static str },
}

/// Collects problems while reading, so one error names them all.
struct Reader<'a> {
    env: &'a Env,
    missing: Vec<String>,
    invalid: Option<ConfigError>,
}

impl<'a> Reader<'a> {
    fn new(env: &'a Env) -> Self {
        Self { env, missing: Vec::new(), invalid: None }
    }

    fn optional<T: FromStr>(&mut self, name: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let raw = self.env.get(name)?;
        match raw.trim().parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.invalid
                    .get_or_insert(ConfigError::Invalid { name: name.to_owned(), reason: e.to_string() });
                None
            }
        }
    }

    fn or<T: FromStr>(&mut self, name: &str, default: T) -> T
    where
        T::Err: fmt::Display,
    {
        self.optional(name).unwrap_or(default)
    }

    fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if !self.missing.is_empty() {
            return Err(ConfigError::Missing(self.missing));
        }
        match self.invalid {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

/// How TLS is used for Postgres. `Require` verifies the server against the Mozilla roots (RDS Proxy
/// presents an ACM certificate) or the bundle in `DB_CA_BUNDLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbTls {
    Disable,
    Prefer,
    Require,
}

impl FromStr for DbTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" | "verify-full" => Ok(Self::Require),
            other => Err(format!("expected disable, prefer or require, got {other:?}")),
        }
    }
}

/// Where a Postgres connection's settings come from: a whole URL (local stack, tests) or a host plus
/// a Secrets Manager secret in the RDS shape `{"username": .., "password": ..}` (deployed).
#[derive(Clone)]
pub enum DbSource {
    Url(SecretString),
    Host { host: String, port: u16, dbname: String, secret_id: String },
}

impl fmt::Debug for DbSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(_) => f.write_str("Url(***)"),
            Self::Host { host, port, dbname, secret_id } => f
                .debug_struct("Host")
                .field("host", host)
                .field("port", port)
                .field("dbname", dbname)
                .field("secret_id", secret_id)
                .finish(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DbConfig {
    pub source: DbSource,
    pub tls: DbTls,
    pub ca_bundle: Option<String>,
    pub pool_size: usize,
    pub connect_timeout_ms: u64,
}

/// Which database role a connection is for. The HTTP functions use `App` (owns nothing, cannot
/// bypass row-level security); `Ops` is the cross-tenant role of background work; `Admin` owns the
/// schema and is used only by migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRole {
    App,
    Ops,
    Admin,
}

impl DbRole {
    /// The capability a function declares to connect as this role.
    pub const fn capability(self) -> Capability {
        match self {
            Self::App => DbApp,
            Self::Ops => DbOps,
            Self::Admin => DbAdmin,
        }
    }
}

impl DbConfig {
    /// Reads `DATABASE_URL`, or `DB_HOST` + `DB_NAME` + `DB_SECRET_ARN` (for `App`); the admin
    /// connection reads `DATABASE_ADMIN_URL` or `DB_ADMIN_SECRET_ARN` with the same host.
    pub fn from_env(env: &Env, role: DbRole) -> Result<Self, ConfigError> {
        let (url_var, secret_var) = match role {
            DbRole::App => ("DATABASE_URL", "DB_SECRET_ARN"),
            DbRole::Ops => ("DATABASE_OPS_URL", "DB_OPS_SECRET_ARN"),
            DbRole::Admin => ("DATABASE_ADMIN_URL", "DB_ADMIN_SECRET_ARN"),
        };
        let mut r = Reader::new(env);
        let source = if let Some(url) = env.get(url_var) {
            Some(DbSource::Url(SecretString::from(url.to_owned())))
        } else {
            let host = env.get("DB_HOST");
            let dbname = env.get("DB_NAME");
            let secret = env.get(secret_var);
            if host.is_none() {
                r.missing.push(format!("{url_var} (or DB_HOST)"));
            }
            if host.is_some() && dbname.is_none() {
                r.missing.push("DB_NAME".into());
            }
            if host.is_some() && secret.is_none() {
                r.missing.push(secret_var.into());
            }
            let port = r.or("DB_PORT", 5432u16);
            match (host, dbname, secret) {
                (Some(h), Some(d), Some(s)) => Some(DbSource::Host {
                    host: h.to_owned(),
                    port,
                    dbname: d.to_owned(),
                    secret_id: s.to_owned(),
                }),
                _ => None,
            }
        };
        // A bare URL is the local stack: no TLS unless asked. A host is RDS: TLS unless told otherwise.
        let default_tls = match source {
            Some(DbSource::Host { .. }) => DbTls::Require,
            _ => DbTls::Disable,
        };
        let tls = r.or("DB_SSLMODE", default_tls);
        let ca_bundle = env.get("DB_CA_BUNDLE").map(str::to_owned);
        let pool_size = r.or("DB_POOL_SIZE", 2usize);
        let connect_timeout_ms = r.or("DB_CONNECT_TIMEOUT_MS", 3000u64);
        match source {
            Some(source) => r.finish(Self { source, tls, ca_bundle, pool_size, connect_timeout_ms }),
            None => Err(r.finish(()).err().unwrap_or(ConfigError::Missing(vec![url_var.into()]))),
        }
    }
}

/// Build identity reported by `GET /api/v1/health`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BuildInfo {
    /// The crate version.
    pub version: &'static str,
    /// The build id (`GATEWAY_BUILD` at compile time: a commit, a CI run), or "dev".
    pub build: &'static str,
    /// "debug" or "release".
    pub profile: &'static str,
}

pub const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    build: match option_env!("GATEWAY_BUILD") {
        Some(b) => b,
        None => "dev",
    },
    profile: if cfg!(debug_assertions) { "debug" } else { "release" },
};

/// The configuration every function reads at cold start. Parts that only some functions need are
/// optional here; asking for one that is absent gives an error naming its variable.
#[derive(Debug, Clone)]
pub struct Config {
    pub stage: String,
    pub function_name: Option<String>,
    pub body_limit_bytes: usize,
    /// Deliveries of one SQS message before it goes to the dead-letter queue (the queues'
    /// `maxReceiveCount`; the template sets both from one parameter).
    pub max_receive_count: u32,
    pub env: Env,
    idempotency_table: Option<String>,
    circuit_breaker_table: Option<String>,
    rate_limit_table: Option<String>,
    event_bus: Option<String>,
    queue_prefix: Option<String>,
    bucket: Option<String>,
    signing_keys_secret: Option<String>,
    verification_keys_secret: Option<String>,
    /// Where the people-facing web app lives: invitation and password-reset links point there.
    pub app_base_url: String,
    /// The function this configuration belongs to and what it declared; `None` (tools, tests
    /// that build a state by hand) allows everything.
    declared: Option<(&'static str, Capabilities)>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut r = Reader::new(env);
        let body_limit_bytes = r.or("HTTP_BODY_LIMIT_BYTES", 1024 * 1024usize);
        let max_receive_count = r.or("MAX_RECEIVE_COUNT", 5u32);
        let get = |n: &str| env.get(n).map(str::to_owned);
        let cfg = Self {
            stage: get("STAGE").unwrap_or_else(|| "local".into()),
            function_name: get("AWS_LAMBDA_FUNCTION_NAME"),
            body_limit_bytes,
            max_receive_count,
            env: env.clone(),
            idempotency_table: get("IDEMPOTENCY_TABLE"),
            circuit_breaker_table: get("CIRCUIT_BREAKER_TABLE"),
            rate_limit_table: get("RATE_LIMIT_TABLE"),
            event_bus: get("EVENT_BUS_NAME"),
            queue_prefix: get("QUEUE_PREFIX"),
            bucket: get("FILES_BUCKET"),
            signing_keys_secret: get("SIGNING_KEYS_SECRET"),
            verification_keys_secret: get("VERIFICATION_KEYS_SECRET"),
            app_base_url: get("APP_BASE_URL")
                .unwrap_or_else(|| "http://localhost:3000".into())
                .trim_end_matches('/')
                .to_owned(),
            declared: None,
        };
        r.finish(cfg)
    }

    /// This configuration as seen by one function: what it did not declare is refused.
    pub fn for_function(&self, name: &'static str, caps: Capabilities) -> Self {
        Self { function_name: Some(name.to_owned()), declared: Some((name, caps)), ..self.clone() }
    }

    /// The declared capabilities, if this configuration belongs to a function.
    pub fn declared(&self) -> Option<Capabilities> {
        self.declared.map(|(_, caps)| caps)
    }

    /// Ok when the function declared one of `any_of` (or is not a declared function).
    pub fn require(&self, any_of: &[Capability]) -> Result<(), ConfigError> {
        match self.declared {
            Some((function, caps)) if !any_of.iter().any(|c| caps.has(*c)) => Err(ConfigError::Undeclared {
                function: function.to_owned(),
                capability: any_of.first().map_or("?", |c| c.name()),
            }),
            _ => Ok(()),
        }
    }

    fn need<'a>(
        &self,
        any_of: &[Capability],
        value: &'a Option<String>,
        name: &str,
    ) -> Result<&'a str, ConfigError> {
        self.require(any_of)?;
        value.as_deref().ok_or_else(|| ConfigError::Missing(vec![name.to_owned()]))
    }

    pub fn idempotency_table(&self) -> Result<&str, ConfigError> {
        self.need(&[Idempotency], &self.idempotency_table, "IDEMPOTENCY_TABLE")
    }
    pub fn circuit_breaker_table(&self) -> Result<&str, ConfigError> {
        self.need(&[CircuitBreakers], &self.circuit_breaker_table, "CIRCUIT_BREAKER_TABLE")
    }
    pub fn rate_limit_table(&self) -> Result<&str, ConfigError> {
        self.need(&[RateLimits], &self.rate_limit_table, "RATE_LIMIT_TABLE")
    }
    pub fn event_bus(&self) -> Result<&str, ConfigError> {
        self.need(&[PublishEvents], &self.event_bus, "EVENT_BUS_NAME")
    }
    /// What every queue of the stack is named after (`<prefix>-<function>`, its DLQ `…-dlq`).
    pub fn queue_prefix(&self) -> Result<&str, ConfigError> {
        self.need(&[DeadLetters], &self.queue_prefix, "QUEUE_PREFIX")
    }
    /// What the readiness probe describes (the idempotency table, the bus): names only, for a
    /// function that may describe them but not write to them.
    pub fn probe_targets(&self) -> Result<(&str, &str), ConfigError> {
        Ok((
            self.need(&[HealthProbe], &self.idempotency_table, "IDEMPOTENCY_TABLE")?,
            self.need(&[HealthProbe], &self.event_bus, "EVENT_BUS_NAME")?,
        ))
    }
    pub fn bucket(&self) -> Result<&str, ConfigError> {
        self.need(&[Files], &self.bucket, "FILES_BUCKET")
    }
    /// The Secrets Manager name or ARN of the private access-token key ring (token issuers only).
    pub fn signing_keys_secret(&self) -> Result<&str, ConfigError> {
        self.need(&[SignTokens, RotateSigningKeys], &self.signing_keys_secret, "SIGNING_KEYS_SECRET")
    }
    /// The Secrets Manager name or ARN of the public key ring (every function that verifies tokens).
    pub fn verification_keys_secret(&self) -> Result<&str, ConfigError> {
        self.need(
            &[VerifyTokens, SignTokens, RotateSigningKeys],
            &self.verification_keys_secret,
            "VERIFICATION_KEYS_SECRET",
        )
    }
    pub fn signing_keys_secret_opt(&self) -> Option<&str> {
        self.signing_keys_secret().ok()
    }
    pub fn verification_keys_secret_opt(&self) -> Option<&str> {
        self.verification_keys_secret().ok()
    }
    /// The secret whose value keys the sealing of TOTP and SSO client secrets.
    pub fn sealing_key_secret(&self) -> Result<&str, ConfigError> {
        self.require(&[SealingKey])?;
        self.env
            .get("SEALING_KEY_SECRET")
            .ok_or_else(|| ConfigError::Missing(vec!["SEALING_KEY_SECRET".into()]))
    }
    pub fn db(&self, role: DbRole) -> Result<DbConfig, ConfigError> {
        self.require(&[role.capability()])?;
        DbConfig::from_env(&self.env, role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_database_settings_are_named_together() {
        let env = Env::from_map([("DB_HOST", "proxy.example")]);
        let err = DbConfig::from_env(&env, DbRole::App).err();
        assert_eq!(err, Some(ConfigError::Missing(vec!["DB_NAME".into(), "DB_SECRET_ARN".into()])));
        let err = DbConfig::from_env(&Env::default(), DbRole::Admin).err();
        assert_eq!(err, Some(ConfigError::Missing(vec!["DATABASE_ADMIN_URL (or DB_HOST)".into()])));
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let env = Env::from_map([("DATABASE_URL", "postgresql://x"), ("DB_POOL_SIZE", "lots")]);
        match DbConfig::from_env(&env, DbRole::App) {
            Err(ConfigError::Invalid { name, .. }) => assert_eq!(name, "DB_POOL_SIZE"),
            other => unreachable!("expected an invalid-variable error, got {other:?}"),
        }
    }

    #[test]
    fn host_source_defaults_to_tls_and_never_prints_the_url() {
        let env = Env::from_map([
            ("DB_HOST", "proxy.example"),
            ("DB_NAME", "gateway"),
            ("DB_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:db"),
        ]);
        let cfg = DbConfig::from_env(&env, DbRole::App).map_err(|e| e.to_string());
        assert_eq!(cfg.as_ref().map(|c| c.tls), Ok(DbTls::Require));
        let url = Env::from_map([("DATABASE_URL", "postgresql://u:hunter2@h/db")]);
        let printed = format!("{:?} {:?}", DbConfig::from_env(&url, DbRole::App), url);
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn a_function_is_refused_what_it_did_not_declare() {
        let env = Env::from_map([("EVENT_BUS_NAME", "bus"), ("DATABASE_OPS_URL", "postgresql://x")]);
        let cfg = Config::from_env(&env).map_err(|e| e.to_string());
        let Ok(cfg) = cfg else { unreachable!("{cfg:?}") };
        let f = cfg.for_function("orders-list", Capabilities::of(&[DbApp]));
        assert_eq!(
            f.event_bus().err().map(|e| e.to_string()).as_deref(),
            Some(
                "function orders-list does not declare the capability publish-events (add it to its registry entry)"
            )
        );
        assert!(matches!(f.db(DbRole::Ops), Err(ConfigError::Undeclared { capability: "db-ops", .. })));
        let publisher = cfg.for_function("x", Capabilities::of(&[PublishEvents]));
        assert_eq!(publisher.event_bus().ok(), Some("bus"));
        assert_eq!(cfg.event_bus().ok(), Some("bus"), "an undeclared configuration allows everything");
    }

    #[test]
    fn absent_optional_parts_name_their_variable() {
        let cfg = Config::from_env(&Env::default()).map_err(|e| e.to_string());
        let err = cfg.and_then(|c| c.event_bus().map(str::to_owned).map_err(|e| e.to_string()));
        assert_eq!(err, Err("missing environment variable(s): EVENT_BUS_NAME".to_owned()));
    }
}
