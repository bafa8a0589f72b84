//! `invitations`: the links that make a person a member.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::platform::tenant::TenantId;

/// The roles of each pending invitation of `user` to `tenant`.
pub(crate) async fn pending_roles(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
) -> Result<Vec<Vec<String>>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "SELECT roles FROM invitations WHERE tenant_id = $1 AND user_id = $2
                AND accepted_at IS NULL AND revoked_at IS NULL",
            &[&tenant.as_uuid(), &user],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Withdraws every pending invitation of `user` to `tenant`.
pub(crate) async fn revoke_pending(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE invitations SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2
            AND accepted_at IS NULL AND revoked_at IS NULL",
        &[&tenant.as_uuid(), &user, &now],
    )
    .await?;
    Ok(())
}

pub(crate) struct NewInvitation<'a> {
    pub id: Uuid,
    pub tenant: TenantId,
    pub user: Uuid,
    pub roles: &'a [String],
    pub token_hash: &'a [u8],
    pub invited_by: Uuid,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) async fn insert(tx: &Transaction<'_>, i: &NewInvitation<'_>) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO invitations (id, tenant_id, user_id, roles, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&i.id, &i.tenant.as_uuid(), &i.user, &i.roles, &i.token_hash, &i.invited_by, &i.now, &i.expires_at],
    )
    .await?;
    Ok(())
}

/// An accepted invitation: who, which roles, invited by whom.
pub(crate) struct Accepted {
    pub user: Uuid,
    pub roles: Vec<String>,
    pub invited_by: Option<Uuid>,
}

/// Spends the live invitation with this token; `None` if there is none (invalid, used, revoked or
/// expired).
pub(crate) async fn accept(
    tx: &Transaction<'_>,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<Accepted>, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "UPDATE invitations SET accepted_at = $2
              WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             RETURNING user_id, roles, invited_by",
            &[&token_hash, &now],
        )
        .await?
        .map(|row| Accepted { user: row.get(0), roles: row.get(1), invited_by: row.get(2) }))
}
