//! `sessions`: the writes other areas of identity need.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

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
