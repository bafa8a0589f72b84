//! What a function may touch outside its own code: a database role, a table, the bus, a secret.
//! Each function declares its capabilities in the registry; the template generator attaches the
//! matching managed policy (`<Name>Policy` in `template.yaml`) and environment, and the function's
//! [`Config`](super::config::Config) refuses, naming the capability, anything it did not declare,
//! so a missing declaration fails in the local stack and the tests instead of as an IAM denial in AWS.

/// One capability. The IAM statements live in the root template's `<Name>Policy` managed policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// The `gateway_app` role (row-level security applies).
    DbApp,
    /// The cross-tenant `gateway_ops` role.
    DbOps,
    /// The schema owner (migrations only).
    DbAdmin,
    /// Read the public access-token key ring (verify tokens).
    VerifyTokens,
    /// Read the private key ring (issue tokens).
    SignTokens,
    /// Read and write both key rings (the rotation task).
    RotateSigningKeys,
    /// Read the key that seals TOTP and SSO client secrets.
    SealingKey,
    /// The rate-limit table.
    RateLimits,
    /// The idempotency table (request keys, consumer dedupe).
    Idempotency,
    /// The circuit-breaker table.
    CircuitBreakers,
    /// `PutEvents` on the bus.
    PublishEvents,
    /// The files bucket.
    Files,
    /// Send email through SES.
    SendEmail,
    /// Describe the idempotency table, list queues, describe the bus (readiness).
    HealthProbe,
    /// Read the merchant accounts' gateway credentials (Secrets Manager, `<stack>/payments/*`).
    PaymentGateways,
    /// List the stack's queues; peek, replay and purge their dead-letter queues.
    DeadLetters,
}

use Capability::*;

/// An environment variable a capability brings, and the root template expression it takes its
/// value from (a parameter or a resource, by `Ref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapabilityEnv {
    pub var: &'static str,
    pub from: &'static str,
}

macro_rules! env {
    ($var:literal, $from:literal) => {
        CapabilityEnv { var: $var, from: $from }
    };
}

impl Capability {
    pub const ALL: &'static [Capability] = &[
        DbApp,
        DbOps,
        DbAdmin,
        VerifyTokens,
        SignTokens,
        RotateSigningKeys,
        SealingKey,
        RateLimits,
        Idempotency,
        CircuitBreakers,
        PublishEvents,
        Files,
        SendEmail,
        HealthProbe,
        PaymentGateways,
        DeadLetters,
    ];

    /// The name used in errors and the README (`db-app`, `publish-events`).
    pub const fn name(self) -> &'static str {
        match self {
            DbApp => "db-app",
            DbOps => "db-ops",
            DbAdmin => "db-admin",
            VerifyTokens => "verify-tokens",
            SignTokens => "sign-tokens",
            RotateSigningKeys => "rotate-signing-keys",
            SealingKey => "sealing-key",
            RateLimits => "rate-limits",
            Idempotency => "idempotency",
            CircuitBreakers => "circuit-breakers",
            PublishEvents => "publish-events",
            Files => "files",
            SendEmail => "send-email",
            HealthProbe => "health-probe",
            PaymentGateways => "payment-gateways",
            DeadLetters => "dead-letters",
        }
    }

    /// The logical id of its managed policy in the root template.
    pub const fn policy(self) -> &'static str {
        match self {
            DbApp => "DbAppPolicy",
            DbOps => "DbOpsPolicy",
            DbAdmin => "DbAdminPolicy",
            VerifyTokens => "VerifyTokensPolicy",
            SignTokens => "SignTokensPolicy",
            RotateSigningKeys => "RotateSigningKeysPolicy",
            SealingKey => "SealingKeyPolicy",
            RateLimits => "RateLimitsPolicy",
            Idempotency => "IdempotencyPolicy",
            CircuitBreakers => "CircuitBreakersPolicy",
            PublishEvents => "PublishEventsPolicy",
            Files => "FilesPolicy",
            SendEmail => "SendEmailPolicy",
            HealthProbe => "HealthProbePolicy",
            PaymentGateways => "PaymentGatewaysPolicy",
            DeadLetters => "DeadLettersPolicy",
        }
    }

    /// Environment only the functions with this capability receive (the rest is common to all).
    pub const fn env(self) -> &'static [CapabilityEnv] {
        match self {
            DbApp => &[env!("DB_SECRET_ARN", "DbAppSecretArn")],
            DbOps => &[env!("DB_OPS_SECRET_ARN", "DbOpsSecretArn")],
            DbAdmin => &[env!("DB_ADMIN_SECRET_ARN", "DbAdminSecretArn")],
            VerifyTokens => &[env!("VERIFICATION_KEYS_SECRET", "VerificationKeysSecret")],
            SignTokens => &[
                env!("VERIFICATION_KEYS_SECRET", "VerificationKeysSecret"),
                env!("SIGNING_KEYS_SECRET", "SigningKeysSecret"),
            ],
            RotateSigningKeys => &[
                env!("VERIFICATION_KEYS_SECRET", "VerificationKeysSecret"),
                env!("SIGNING_KEYS_SECRET", "SigningKeysSecret"),
            ],
            SealingKey => &[env!("SEALING_KEY_SECRET", "SealingKeySecret")],
            RateLimits => &[env!("RATE_LIMIT_TABLE", "RateLimitTable")],
            Idempotency => &[env!("IDEMPOTENCY_TABLE", "IdempotencyTable")],
            CircuitBreakers => &[env!("CIRCUIT_BREAKER_TABLE", "CircuitBreakerTable")],
            PublishEvents => &[env!("EVENT_BUS_NAME", "EventBus")],
            Files => &[env!("FILES_BUCKET", "FilesBucket")],
            SendEmail => &[env!("EMAIL_SENDER", "EmailSender"), env!("EMAIL_FROM", "EmailFrom")],
            HealthProbe => {
                &[env!("IDEMPOTENCY_TABLE", "IdempotencyTable"), env!("EVENT_BUS_NAME", "EventBus")]
            }
            PaymentGateways => &[],
            DeadLetters => &[env!("QUEUE_PREFIX", "Prefix")],
        }
    }

    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of capabilities (a function's declaration).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(u32);

impl Capabilities {
    pub const NONE: Capabilities = Capabilities(0);

    pub const fn of(list: &[Capability]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < list.len() {
            bits |= list[i].bit();
            i += 1;
        }
        Self(bits)
    }

    pub const fn has(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.iter().copied().filter(move |c| self.has(*c))
    }

    /// The environment variables these capabilities bring, each once, in a stable order.
    pub fn env(self) -> Vec<CapabilityEnv> {
        let mut out: Vec<CapabilityEnv> = Vec::new();
        for e in self.iter().flat_map(|c| c.env().iter().copied()) {
            if !out.iter().any(|o| o.var == e.var) {
                out.push(e);
            }
        }
        out.sort_by_key(|e| e.var);
        out
    }
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(Capability::name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_holds_what_it_was_made_of_and_lists_each_variable_once() {
        let caps = Capabilities::of(&[SignTokens, DbApp, VerifyTokens]);
        assert!(caps.has(DbApp) && caps.has(SignTokens) && !caps.has(DbOps));
        assert_eq!(caps.iter().collect::<Vec<_>>(), vec![DbApp, VerifyTokens, SignTokens]);
        let vars: Vec<_> = caps.env().iter().map(|e| e.var).collect();
        assert_eq!(vars, vec!["DB_SECRET_ARN", "SIGNING_KEYS_SECRET", "VERIFICATION_KEYS_SECRET"]);
        assert!(Capability::ALL.len() < 32, "the set is a u32");
    }
}
