//! `password_resets`, the password on `users`, and `login_attempts`.

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use crate::platform::http::Caller;
use crate::platform::tenant::TenantId;

pub(crate) async fn insert_reset(
    tx: &Transaction<'_>,
    user: Uuid,
    token_hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&Uuid::now_v7(), &user, &token_hash, &now, &expires_at],
    )
    .await?;
    Ok(())
}

/// Spends the live reset of `user` with this token, and every other reset link of theirs with
/// it; false if there is no live one.
pub(crate) async fn spend_resets(
    tx: &Transaction<'_>,
    user: Uuid,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let spent = tx
        .execute(
            "UPDATE password_resets SET used_at = $3
              WHERE token_hash = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
            &[&token_hash, &user, &now],
        )
        .await?;
    if spent == 0 {
        return Ok(false);
    }
    tx.execute(
        "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        &[&user, &now],
    )
    .await?;
    Ok(true)
}

/// Sets `user`'s password hash; answers their email.
pub(crate) async fn set_password(
    tx: &Transaction<'_>,
    user: Uuid,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<String, tokio_postgres::Error> {
    Ok(tx
        .query_one(
            "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1
             RETURNING email",
            &[&user, &password_hash, &now],
        )
        .await?
        .get(0))
}

/// Sets the name `user` gives themself.
pub(crate) async fn set_display_name(
    tx: &Transaction<'_>,
    user: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1", &[&user, &name, &now])
        .await?;
    Ok(())
}

/// `user`'s email and whether they have a password yet.
pub(crate) async fn account(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<(String, bool), tokio_postgres::Error> {
    let row = tx.query_one("SELECT email, has_password FROM users WHERE id = $1", &[&user]).await?;
    Ok((row.get(0), row.get(1)))
}

/// Ends every live session of `user`, in every tenant.
pub(crate) async fn revoke_all_sessions(
    tx: &Transaction<'_>,
    user: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL",
        &[&user, &now, &reason],
    )
    .await?;
    Ok(())
}

/// The tenant of `user`'s oldest active membership.
pub(crate) async fn first_active_tenant(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<Option<TenantId>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT tenant_id FROM tenant_users WHERE user_id = $1 AND status = 'active'
              ORDER BY created_at LIMIT 1",
            &[&user],
        )
        .await?
        .map(|r| TenantId::from_uuid(r.get(0))))
}

/// Every tenant `user` is a member of (in any status).
pub(crate) async fn tenants_of(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<Vec<TenantId>, tokio_postgres::Error> {
    Ok(tx
        .query("SELECT tenant_id FROM tenant_users WHERE user_id = $1", &[&user])
        .await?
        .iter()
        .map(|r| TenantId::from_uuid(r.get(0)))
        .collect())
}

/// One login attempt for `email` (a reset records a success: it ends any lockout).
pub(crate) async fn record_attempt(
    client: &impl GenericClient,
    email: &str,
    user: Option<Uuid>,
    caller: &Caller,
    succeeded: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO login_attempts (id, email, user_id, ip, user_agent, succeeded, reason, attempted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&Uuid::now_v7(), &email, &user, &caller.ip, &caller.user_agent, &succeeded, &reason, &now],
        )
        .await?;
    Ok(())
}
