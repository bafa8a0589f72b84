//! The audit trail: who did what to which object, for which tenant, from where, with the state
//! before and after. Written in the same transaction as the change, append-only (no role may
//! update or delete a row), and readable by a tenant's auditors at `GET /api/v1/audit-log`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Transaction;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::platform::error::ApiError;
use crate::platform::http::Caller;
use crate::platform::tenant::TenantId;

/// One audited action.
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Entry {
    pub fn new(action: &'static str, target_type: &'static str, target_id: impl ToString) -> Self {
        Self { action, target_type, target_id: target_id.to_string(), before: None, after: None }
    }
    pub fn before(mut self, v: impl Serialize) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }
    pub fn after(mut self, v: impl Serialize) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }
}

/// Who acted, when it is not a [`Principal`] (a login, an invitation link, a background job).
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub kind: &'static str,
    pub user_id: Option<Uuid>,
    /// The API key that acted (its creator is `user_id`).
    pub key_id: Option<Uuid>,
    pub tenant_id: Option<TenantId>,
    pub caller: &'a Caller,
    pub cross_tenant: bool,
}

impl<'a> Actor<'a> {
    /// A person acting before they hold a session (a login, a link from an email): `kind` is
    /// `user` once they proved who they are, `anonymous` when they only presented something.
    pub fn person(kind: &'static str, user: Uuid, tenant: Option<TenantId>, caller: &'a Caller) -> Self {
        Self { kind, user_id: Some(user), key_id: None, tenant_id: tenant, caller, cross_tenant: false }
    }

    /// A background job of the platform, reaching across tenants.
    pub fn system(caller: &'a Caller) -> Self {
        Self { kind: "system", user_id: None, key_id: None, tenant_id: None, caller, cross_tenant: true }
    }
}

/// Whoever acts in an authenticated request (identity's principal): who, for which tenant, when.
pub trait Acting {
    fn actor(&self) -> Actor<'_>;
    fn acting_tenant(&self) -> TenantId;
    fn at(&self) -> DateTime<Utc>;
}

/// Records `entry` by an authenticated caller, in the acting tenant.
pub async fn record(tx: &Transaction<'_>, who: &impl Acting, entry: Entry) -> Result<(), ApiError> {
    record_as(tx, Some(who.acting_tenant()), &who.actor(), who.at(), entry).await
}

/// Records `entry` for `tenant` (None: a platform-level action, visible to the operations role).
pub async fn record_as(
    tx: &Transaction<'_>,
    tenant: Option<TenantId>,
    actor: &Actor<'_>,
    at: DateTime<Utc>,
    entry: Entry,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO audit_log (id, tenant_id, actor_kind, actor_user_id, actor_tenant_id, action,
                                target_type, target_id, cross_tenant, ip, user_agent, request_id,
                                before, after, occurred_at, actor_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &[
            &Uuid::now_v7(),
            &tenant.map(|t| t.as_uuid()),
            &actor.kind,
            &actor.user_id,
            &actor.tenant_id.map(|t| t.as_uuid()),
            &entry.action,
            &entry.target_type,
            &entry.target_id,
            &actor.cross_tenant,
            &actor.caller.ip,
            &actor.caller.user_agent,
            &actor.caller.request_id,
            &entry.before,
            &entry.after,
            &at,
            &actor.key_id,
        ],
    )
    .await?;
    Ok(())
}

/// One audit log row.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecord {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub actor_kind: String,
    pub actor_user_id: Option<Uuid>,
    pub actor_tenant_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub cross_tenant: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Any JSON value, or none.
    #[schema(value_type = Option<serde_json::Value>)]
    pub before: Option<serde_json::Value>,
    /// Any JSON value, or none.
    #[schema(value_type = Option<serde_json::Value>)]
    pub after: Option<serde_json::Value>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Exact action, e.g. `user.roles_assigned`.
    pub action: Option<String>,
    pub actor_user_id: Option<Uuid>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Entries at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Entries before this instant (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// One page of the scoped tenant's trail, newest first (`limit + 1` rows: the page helper looks
/// one ahead).
pub async fn query(
    tx: &Transaction<'_>,
    f: &AuditFilter,
    limit: i64,
    cursor: Option<Uuid>,
) -> Result<Vec<AuditRecord>, ApiError> {
    let rows = tx
        .query(
            "SELECT id, tenant_id, actor_kind, actor_user_id, actor_tenant_id, action, target_type,
                    target_id, cross_tenant, ip, user_agent, request_id, before, after, occurred_at
               FROM audit_log
              WHERE ($1::text IS NULL OR action = $1)
                AND ($2::uuid IS NULL OR actor_user_id = $2)
                AND ($3::text IS NULL OR target_type = $3)
                AND ($4::text IS NULL OR target_id = $4)
                AND ($5::timestamptz IS NULL OR occurred_at >= $5)
                AND ($6::timestamptz IS NULL OR occurred_at < $6)
                AND ($7::uuid IS NULL OR id < $7)
              ORDER BY id DESC
              LIMIT $8",
            &[
                &f.action,
                &f.actor_user_id,
                &f.target_type,
                &f.target_id,
                &f.since,
                &f.until,
                &cursor,
                &(limit + 1),
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AuditRecord {
            id: r.get(0),
            tenant_id: r.get(1),
            actor_kind: r.get(2),
            actor_user_id: r.get(3),
            actor_tenant_id: r.get(4),
            action: r.get(5),
            target_type: r.get(6),
            target_id: r.get(7),
            cross_tenant: r.get(8),
            ip: r.get(9),
            user_agent: r.get(10),
            request_id: r.get(11),
            before: r.get(12),
            after: r.get(13),
            occurred_at: r.get(14),
        })
        .collect())
}
