//! `sessions` and `refresh_tokens`: the guard's session check, starting, listing and ending
//! sessions, and the refresh-token family.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::{IDLE_SETTING, REFRESH_TOKEN_TTL, SESSION_MAX_AGE, SessionView, TenantLimits};
use crate::platform::http::Caller;
use crate::platform::tenant::TenantId;

/// Ends every live session of `user` in `tenant`.
pub(crate) async fn revoke_member(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4
          WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        &[&tenant.as_uuid(), &user, &now, &reason],
    )
    .await?;
    Ok(())
}

/// Records how a session was started (`sso`).
pub(crate) async fn set_auth_method(
    tx: &Transaction<'_>,
    session: Uuid,
    method: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE sessions SET auth_method = $2 WHERE id = $1", &[&session, &method]).await?;
    Ok(())
}

/// SQL for the two limit settings of the tenant in column `tenant`.
pub(crate) fn limits_sql(tenant: &str) -> String {
    format!(
        "(SELECT CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{{}}')::numeric::integer END
            FROM tenant_settings WHERE tenant_id = {tenant} AND key = 'rate_limit.read_per_minute'),
         (SELECT CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{{}}')::numeric::integer END
            FROM tenant_settings WHERE tenant_id = {tenant} AND key = 'rate_limit.write_per_minute')"
    )
}

/// A session as the guard sees it at `now`.
pub(crate) struct SessionState {
    pub tenant_status: String,
    pub member_status: String,
    pub last_activity_at: DateTime<Utc>,
    pub idle: bool,
    pub ended: bool,
    /// Roles granted in the session's tenant.
    pub roles: Vec<String>,
    pub tenant_kind: String,
    pub limits: TenantLimits,
}

/// The session `session` of `user` in `tenant`, with its tenant, membership and grants.
pub(crate) async fn state(
    tx: &Transaction<'_>,
    session: Uuid,
    user: Uuid,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Option<SessionState>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT t.status, m.status, s.last_activity_at,
            s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) <= $4 AS idle,
            s.revoked_at IS NOT NULL OR s.expires_at <= $4 AS ended,
            ARRAY(SELECT g.role_code FROM role_grants g
                  WHERE g.tenant_id = s.tenant_id AND g.user_id = s.user_id ORDER BY 1),
            t.kind, {}
       FROM sessions s
       JOIN tenants t ON t.id = s.tenant_id
       JOIN tenant_users m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
      WHERE s.id = $1 AND s.user_id = $2 AND s.tenant_id = $3",
        limits_sql("s.tenant_id")
    );
    let row = tx.query_opt(&sql, &[&session, &user, &tenant.as_uuid(), &now]).await?;
    Ok(row.map(|row| SessionState {
        tenant_status: row.get(0),
        member_status: row.get(1),
        last_activity_at: row.get(2),
        idle: row.get(3),
        ended: row.get(4),
        roles: row.get(5),
        tenant_kind: row.get(6),
        limits: TenantLimits { read: row.get(7), write: row.get(8) },
    }))
}

/// Records activity on a session.
pub(crate) async fn touch(
    tx: &Transaction<'_>,
    session: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE sessions SET last_activity_at = $2 WHERE id = $1", &[&session, &now]).await?;
    Ok(())
}

/// Ends a live session for `reason`; whether it was live.
pub(crate) async fn revoke(
    tx: &Transaction<'_>,
    session: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let n = tx
        .execute(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
            &[&session, &now, &reason],
        )
        .await?;
    Ok(n > 0)
}

/// Ends a live session of `user` (signed out from another device); whether there was one.
pub(crate) async fn revoke_own(
    tx: &Transaction<'_>,
    session: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let n = tx
        .execute(
            "UPDATE sessions SET revoked_at = $3, revoked_reason = 'revoked_by_user'
              WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
            &[&session, &user, &now],
        )
        .await?;
    Ok(n > 0)
}

/// What starting a session in `tenant` for `user` needs: their roles there, the tenant's idle
/// timeout setting (minutes) and the tenant's kind.
pub(crate) async fn start_facts(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
) -> Result<(Vec<String>, Option<i32>, Option<String>), tokio_postgres::Error> {
    let row = tx
        .query_one(
            "SELECT ARRAY(SELECT role_code FROM role_grants WHERE tenant_id = $1 AND user_id = $2 ORDER BY 1),
                    (SELECT CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{}')::numeric::integer END
                       FROM tenant_settings WHERE tenant_id = $1 AND key = $3),
                    (SELECT kind FROM tenants WHERE id = $1)",
            &[&tenant.as_uuid(), &user, &IDLE_SETTING],
        )
        .await?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// A new session row.
pub(crate) struct NewSession<'a> {
    pub id: Uuid,
    pub tenant: TenantId,
    pub user: Uuid,
    pub caller: &'a Caller,
    pub idle_timeout_seconds: i32,
    pub now: DateTime<Utc>,
}

pub(crate) async fn insert(tx: &Transaction<'_>, s: &NewSession<'_>) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO sessions (id, tenant_id, user_id, device_fingerprint, ip, user_agent,
                               idle_timeout_seconds, created_at, last_activity_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        &[
            &s.id,
            &s.tenant.as_uuid(),
            &s.user,
            &s.caller.device_fingerprint,
            &s.caller.ip,
            &s.caller.user_agent,
            &s.idle_timeout_seconds,
            &s.now,
            &(s.now + SESSION_MAX_AGE),
        ],
    )
    .await?;
    Ok(())
}

/// How a session began: its `auth_method` and whether a second factor was verified.
pub(crate) async fn method(
    tx: &Transaction<'_>,
    session: Uuid,
) -> Result<(String, bool), tokio_postgres::Error> {
    let row =
        tx.query_one("SELECT auth_method, mfa_verified FROM sessions WHERE id = $1", &[&session]).await?;
    Ok((row.get(0), row.get(1)))
}

pub(crate) async fn set_mfa_verified(
    tx: &Transaction<'_>,
    session: Uuid,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE sessions SET mfa_verified = true WHERE id = $1", &[&session]).await?;
    Ok(())
}

/// The live sessions of `user` (in every tenant the transaction sees), newest first.
pub(crate) async fn live_of(
    tx: &Transaction<'_>,
    user: Uuid,
    current: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<SessionView>, tokio_postgres::Error> {
    let rows = tx
        .query(
            "SELECT id, tenant_id, device_fingerprint, ip, user_agent, created_at, last_activity_at,
                    idle_timeout_seconds
               FROM sessions
              WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
                AND last_activity_at + make_interval(secs => idle_timeout_seconds) > $2
              ORDER BY id DESC LIMIT 200",
            &[&user, &now],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| SessionView {
            id: r.get(0),
            tenant_id: r.get(1),
            current: r.get::<_, Uuid>(0) == current,
            device_fingerprint: r.get(2),
            ip: r.get(3),
            user_agent: r.get(4),
            created_at: r.get(5),
            last_activity_at: r.get(6),
            idle_timeout_seconds: r.get(7),
        })
        .collect())
}

/// Issues a refresh token row for `session`.
pub(crate) async fn insert_refresh(
    tx: &Transaction<'_>,
    id: Uuid,
    tenant: TenantId,
    session: Uuid,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO refresh_tokens (id, tenant_id, session_id, token_hash, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&id, &tenant.as_uuid(), &session, &hash, &now, &(now + REFRESH_TOKEN_TTL)],
    )
    .await?;
    Ok(())
}

/// A refresh token, locked for its spending.
pub(crate) struct RefreshToken {
    pub id: Uuid,
    pub session: Uuid,
    pub user: Uuid,
    pub used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) async fn refresh_token(
    tx: &Transaction<'_>,
    hash: &[u8],
) -> Result<Option<RefreshToken>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT rt.id, rt.session_id, rt.used_at, rt.expires_at, s.user_id
               FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
              WHERE rt.token_hash = $1 FOR UPDATE OF rt",
            &[&hash],
        )
        .await?;
    Ok(row.map(|r| RefreshToken {
        id: r.get(0),
        session: r.get(1),
        used_at: r.get(2),
        expires_at: r.get(3),
        user: r.get(4),
    }))
}

/// Marks a refresh token spent, replaced by `next`.
pub(crate) async fn spend_refresh(
    tx: &Transaction<'_>,
    id: Uuid,
    next: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE refresh_tokens SET used_at = $2, replaced_by = $3 WHERE id = $1", &[&id, &now, &next])
        .await?;
    Ok(())
}
