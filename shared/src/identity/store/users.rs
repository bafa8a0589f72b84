//! `users`: people, shared by every tenant they belong to.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::{Email, MemberFilter, User};
use crate::platform::tenant::TenantId;

/// The user with `email`, created (without a password or a name) if there is none.
pub(crate) async fn ensure(
    tx: &Transaction<'_>,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<Uuid, tokio_postgres::Error> {
    Ok(tx
        .query_one("SELECT identity_ensure_user($1, $2, '', $3)", &[&Uuid::now_v7(), &email.as_str(), &now])
        .await?
        .get(0))
}

/// The user a login for `email` would find, if any (through `identity_login_lookup`, which sees
/// users before a tenant is known).
pub(crate) async fn by_email(
    client: &impl tokio_postgres::GenericClient,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, tokio_postgres::Error> {
    Ok(client
        .query_one("SELECT user_id FROM identity_login_lookup($1, $2)", &[&email.as_str(), &now])
        .await?
        .get(0))
}

const MEMBER: &str = "SELECT u.id, u.email, COALESCE(m.display_name, u.display_name), m.status,
        ARRAY(SELECT g.role_code FROM role_grants g WHERE g.tenant_id = m.tenant_id AND g.user_id = m.user_id ORDER BY 1),
        m.created_at
   FROM tenant_users m JOIN users u ON u.id = m.user_id";

fn member_row(r: &tokio_postgres::Row) -> User {
    User {
        id: r.get(0),
        email: r.get(1),
        display_name: r.get(2),
        status: r.get(3),
        roles: r.get(4),
        created_at: r.get(5),
    }
}

/// Member `user` of `tenant`, as its admins see them.
pub(crate) async fn member(
    tx: &Transaction<'_>,
    tenant: TenantId,
    user: Uuid,
) -> Result<Option<User>, tokio_postgres::Error> {
    let sql = format!("{MEMBER} WHERE m.tenant_id = $1 AND m.user_id = $2");
    Ok(tx.query_opt(&sql, &[&tenant.as_uuid(), &user]).await?.map(|r| member_row(&r)))
}

/// One page of `tenant`'s members matching `f`, newest id first, after `cursor`.
pub(crate) async fn members(
    tx: &Transaction<'_>,
    tenant: TenantId,
    f: &MemberFilter,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>, tokio_postgres::Error> {
    let sql = format!(
        "{MEMBER} WHERE m.tenant_id = $1 AND ($2::uuid IS NULL OR m.user_id = $2)
            AND ($3::text IS NULL OR m.status = $3) AND ($4::text IS NULL OR u.email LIKE $4)
            AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM role_grants g WHERE g.tenant_id = m.tenant_id
                                             AND g.user_id = m.user_id AND g.role_code = $5))
            AND ($6::uuid IS NULL OR m.user_id < $6)
          ORDER BY m.user_id DESC LIMIT $7"
    );
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
        [&tenant.as_uuid(), &f.only, &f.status, &f.email_like, &f.role, &cursor, &limit];
    Ok(tx.query(&sql, &params).await?.iter().map(member_row).collect())
}
