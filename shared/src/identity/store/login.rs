//! Login's reads: the per-email lock, the lookup behind the lockout, and the memberships a person
//! signs in to or sees in `GET /api/v1/auth/me`.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::Membership;

/// Takes the transaction-scoped lock of `email`'s login attempts, waiting at most 3 s.
pub(crate) async fn lock_email(tx: &Transaction<'_>, email: &str) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute("SET LOCAL lock_timeout = '3s'").await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('login:' || $1))", &[&email]).await?;
    Ok(())
}

/// What a login attempt for `email` decides on.
pub(crate) struct Lookup {
    /// The user with this email, if there is one, and their password hash.
    pub user: Option<Uuid>,
    pub password_hash: Option<String>,
    /// Failures since `since` (and since the last success), the last at `last_failure`.
    pub failures: i32,
    pub last_failure: Option<DateTime<Utc>>,
}

/// Through `identity_login_lookup`: always a row, with or without a user.
pub(crate) async fn lookup(
    tx: &Transaction<'_>,
    email: &str,
    since: DateTime<Utc>,
) -> Result<Lookup, tokio_postgres::Error> {
    let row = tx.query_one("SELECT * FROM identity_login_lookup($1, $2)", &[&email, &since]).await?;
    Ok(Lookup { user: row.get(0), password_hash: row.get(1), failures: row.get(2), last_failure: row.get(3) })
}

/// The tenants `user` is an active member of, where the tenant is active, oldest membership first.
pub(crate) async fn active_memberships(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<Vec<Uuid>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "SELECT m.tenant_id FROM tenant_users m JOIN tenants t ON t.id = m.tenant_id
              WHERE m.user_id = $1 AND m.status = 'active' AND t.status = 'active'
              ORDER BY m.created_at, m.tenant_id",
            &[&user],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// The user's email and display name.
pub(crate) async fn profile(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<(String, String), tokio_postgres::Error> {
    let row = tx.query_one("SELECT email, display_name FROM users WHERE id = $1", &[&user]).await?;
    Ok((row.get(0), row.get(1)))
}

/// Every membership of `user`, with its tenant and roles, oldest first.
pub(crate) async fn memberships(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<Vec<Membership>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "SELECT m.tenant_id, t.slug, t.name, t.status, m.status,
                    ARRAY(SELECT g.role_code FROM role_grants g
                           WHERE g.tenant_id = m.tenant_id AND g.user_id = m.user_id ORDER BY 1)
               FROM tenant_users m JOIN tenants t ON t.id = m.tenant_id
              WHERE m.user_id = $1 ORDER BY m.created_at",
            &[&user],
        )
        .await?
        .iter()
        .map(|r| Membership {
            tenant_id: r.get(0),
            slug: r.get(1),
            name: r.get(2),
            tenant_status: r.get(3),
            status: r.get(4),
            roles: r.get(5),
        })
        .collect())
}
