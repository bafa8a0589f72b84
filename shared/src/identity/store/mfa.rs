//! `mfa_factors`, `mfa_challenges` and `mfa_recovery_codes`.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::{CHALLENGE_TTL, MAX_ATTEMPTS, REQUIRED_ROLES_SETTING};
use crate::platform::tenant::TenantId;

/// A TOTP factor: id, sealed secret, newest step used.
pub(crate) type Factor = (Uuid, Vec<u8>, Option<i64>);

/// The user's live (confirmed, not disabled) TOTP factor.
pub(crate) async fn live_factor(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<Option<Factor>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT id, secret_encrypted, last_step FROM mfa_factors
              WHERE user_id = $1 AND confirmed_at IS NOT NULL AND disabled_at IS NULL",
            &[&user],
        )
        .await?
        .map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// Records `step` as the factor's newest, unless a step as new is recorded (a racing request with
/// the same code): whether it was recorded.
pub(crate) async fn advance_step(
    tx: &Transaction<'_>,
    factor: Uuid,
    step: i64,
) -> Result<bool, tokio_postgres::Error> {
    let n = tx
        .execute(
            "UPDATE mfa_factors SET last_step = $2 WHERE id = $1 AND (last_step IS NULL OR last_step < $2)",
            &[&factor, &step],
        )
        .await?;
    Ok(n == 1)
}

/// Spends the user's unused recovery code with `hash`: whether there was one.
pub(crate) async fn spend_recovery_code(
    tx: &Transaction<'_>,
    user: Uuid,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let n = tx
        .execute(
            "UPDATE mfa_recovery_codes SET used_at = $3
              WHERE id = (SELECT id FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
                           LIMIT 1 FOR UPDATE)",
            &[&user, &hash, &now],
        )
        .await?;
    Ok(n > 0)
}

/// Whether the user has a live factor, and whether the tenant requires one for a role they hold.
pub(crate) async fn needs(
    tx: &Transaction<'_>,
    user: Uuid,
    tenant: TenantId,
) -> Result<(bool, bool), tokio_postgres::Error> {
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL
                              AND disabled_at IS NULL),
                    EXISTS (SELECT 1 FROM role_grants g, tenant_settings s
                             WHERE g.tenant_id = $2 AND g.user_id = $1 AND s.tenant_id = $2 AND s.key = $3
                               AND s.value ? g.role_code)",
            &[&user, &tenant.as_uuid(), &REQUIRED_ROLES_SETTING],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

pub(crate) async fn insert_challenge(
    tx: &Transaction<'_>,
    user: Uuid,
    tenant: TenantId,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO mfa_challenges (id, user_id, tenant_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&Uuid::now_v7(), &user, &tenant.as_uuid(), &hash, &now, &(now + CHALLENGE_TTL)],
    )
    .await?;
    Ok(())
}

/// A live challenge.
pub(crate) struct Challenge {
    pub id: Uuid,
    pub tenant: TenantId,
    pub email_code_hash: Option<Vec<u8>>,
    pub email_code_expires_at: Option<DateTime<Utc>>,
}

/// The live challenge with token `hash`, locked.
pub(crate) async fn challenge(
    tx: &Transaction<'_>,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<Challenge>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT id, tenant_id, email_code_hash, email_code_expires_at FROM mfa_challenges
              WHERE token_hash = $1 AND completed_at IS NULL AND expires_at > $2 AND attempts < $3
              FOR UPDATE",
            &[&hash, &now, &MAX_ATTEMPTS],
        )
        .await?
        .map(|row| Challenge {
            id: row.get(0),
            tenant: TenantId::from_uuid(row.get(1)),
            email_code_hash: row.get(2),
            email_code_expires_at: row.get(3),
        }))
}

pub(crate) async fn count_attempt(
    tx: &Transaction<'_>,
    challenge: Uuid,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1", &[&challenge]).await?;
    Ok(())
}

pub(crate) async fn complete(
    tx: &Transaction<'_>,
    challenge: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE mfa_challenges SET completed_at = $2 WHERE id = $1", &[&challenge, &now]).await?;
    Ok(())
}

pub(crate) async fn set_email_code(
    tx: &Transaction<'_>,
    challenge: Uuid,
    hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE mfa_challenges SET email_code_hash = $2, email_code_expires_at = $3 WHERE id = $1",
        &[&challenge, &hash, &expires_at],
    )
    .await?;
    Ok(())
}

/// The user's email address.
pub(crate) async fn email_of(tx: &Transaction<'_>, user: Uuid) -> Result<String, tokio_postgres::Error> {
    Ok(tx.query_one("SELECT email FROM users WHERE id = $1", &[&user]).await?.get(0))
}

/// Abandons the user's unconfirmed enrolments.
pub(crate) async fn disable_pending(
    tx: &Transaction<'_>,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE mfa_factors SET disabled_at = $2 WHERE user_id = $1 AND confirmed_at IS NULL AND disabled_at IS NULL",
        &[&user, &now],
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_factor(
    tx: &Transaction<'_>,
    factor: Uuid,
    user: Uuid,
    sealed: &[u8],
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO mfa_factors (id, user_id, kind, secret_encrypted, created_at) VALUES ($1, $2, 'totp', $3, $4)",
        &[&factor, &user, &sealed, &now],
    )
    .await?;
    Ok(())
}

/// The user's newest unconfirmed enrolment (id, sealed secret), locked.
pub(crate) async fn pending_factor(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<Option<(Uuid, Vec<u8>)>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT id, secret_encrypted FROM mfa_factors
              WHERE user_id = $1 AND confirmed_at IS NULL AND disabled_at IS NULL ORDER BY id DESC LIMIT 1 FOR UPDATE",
            &[&user],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

pub(crate) async fn confirm_factor(
    tx: &Transaction<'_>,
    factor: Uuid,
    step: i64,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE mfa_factors SET confirmed_at = $2, last_step = $3 WHERE id = $1",
        &[&factor, &now, &step],
    )
    .await?;
    Ok(())
}

pub(crate) async fn disable_factor(
    tx: &Transaction<'_>,
    factor: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE mfa_factors SET disabled_at = $2 WHERE id = $1", &[&factor, &now]).await?;
    Ok(())
}

/// Voids the user's unused recovery codes.
pub(crate) async fn void_recovery_codes(
    tx: &Transaction<'_>,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE mfa_recovery_codes SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        &[&user, &now],
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_recovery_code(
    tx: &Transaction<'_>,
    user: Uuid,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)",
        &[&Uuid::now_v7(), &user, &hash, &now],
    )
    .await?;
    Ok(())
}
