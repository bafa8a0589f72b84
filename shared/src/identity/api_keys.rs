//! API keys: credentials for machines (custom channels, integrations), each acting for exactly one
//! tenant with a list of permissions no wider than its creator's — checked when it is created and
//! again on every use (a key loses what its creator loses, and stops with the creator's membership).
//!
//! A key is `rgk_<tenant id, 32 hex><secret, 43 base64url>`: the tenant lets the lookup run in that
//! tenant's transaction (row-level security); only the SHA-256 of the secret is stored. It is sent
//! as `X-Api-Key: <key>` or `Authorization: Bearer <key>`. Rotation issues a successor and lets the
//! old key work for a grace period; revocation is immediate. API keys cannot manage API keys.

use aws_lc_rs::digest::{SHA256, digest};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Object;
use http::HeaderName;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::{Principal, role_permissions};
use crate::identity::roles::{Permission, Scope};
use crate::platform::audit::{self, Entry};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::http::{ApiJson, ApiQuery};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const HEADER: HeaderName = HeaderName::from_static("x-api-key");
pub const PREFIX: &str = "rgk_";
pub const DEFAULT_GRACE: Duration = Duration::hours(24);
pub const MAX_GRACE: Duration = Duration::days(7);
/// Last use is written at most this often.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// A new key for `tenant`: the string handed out once, the stored hash, and the visible prefix.
fn new_key(tenant: TenantId) -> Result<(String, Vec<u8>, String), ApiError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ApiError::internal("random generator failed"))?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let tenant_hex = tenant.as_uuid().simple().to_string();
    let key = format!("{PREFIX}{tenant_hex}{secret}");
    let shown = format!("{PREFIX}{}…{}", &tenant_hex[..8], &secret[..6]);
    Ok((key, digest(&SHA256, secret.as_bytes()).as_ref().to_vec(), shown))
}

/// The tenant and secret hash of a key, or `None` if it is not one.
fn parse_key(key: &str) -> Option<(TenantId, Vec<u8>)> {
    let rest = key.strip_prefix(PREFIX)?;
    if rest.len() != 32 + 43 || !rest.is_ascii() {
        return None;
    }
    let (tenant_hex, secret) = rest.split_at(32);
    let tenant = Uuid::try_parse(tenant_hex).ok()?;
    if !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    Some((TenantId::from_uuid(tenant), digest(&SHA256, secret.as_bytes()).as_ref().to_vec()))
}

/// A key that may act now.
pub(crate) struct LiveKey {
    pub limits: super::model::TenantLimits,
    pub id: Uuid,
    pub tenant: TenantId,
    pub created_by: Uuid,
    pub permissions: Vec<Permission>,
}

/// Checks a presented key: known, not revoked, not expired, within its grace period if rotated,
/// tenant active, creator still an active member. Its permissions are those its creator still holds.
pub(crate) async fn check(conn: &mut Object, key: &str, now: DateTime<Utc>) -> Result<LiveKey, ApiError> {
    let refused = |why: &str| ApiError::Unauthenticated(format!("the API key {why}"));
    let (tenant, hash) = parse_key(key).ok_or_else(|| refused("is not valid"))?;
    let tx = scoped_tx(conn, Some(tenant), None).await?;
    let row = tx
        .query_opt(
            &format!(
                "SELECT k.id, k.created_by, k.permissions, k.revoked_at IS NOT NULL,
                    k.expires_at IS NOT NULL AND k.expires_at <= $2,
                    k.grace_until IS NOT NULL AND k.grace_until <= $2,
                    t.status, t.kind, m.status, k.last_used_at,
                    ARRAY(SELECT g.role_code FROM role_grants g
                           WHERE g.tenant_id = k.tenant_id AND g.user_id = k.created_by),
                    {}
               FROM api_keys k
               JOIN tenants t ON t.id = k.tenant_id
               JOIN tenant_users m ON m.tenant_id = k.tenant_id AND m.user_id = k.created_by
              WHERE k.secret_hash = $1",
                super::store::sessions::limits_sql("k.tenant_id")
            ),
            &[&hash, &now],
        )
        .await?
        .ok_or_else(|| refused("is not valid"))?;
    if row.get::<_, bool>(3) {
        return Err(refused("was revoked"));
    }
    if row.get::<_, bool>(4) {
        return Err(refused("has expired"));
    }
    if row.get::<_, bool>(5) {
        return Err(refused("was rotated and its grace period is over"));
    }
    let tenant_status: String = row.get(6);
    if tenant_status != "active" {
        return Err(refused(&format!("belongs to a tenant that is {tenant_status}")));
    }
    if row.get::<_, String>(8) != "active" {
        return Err(refused("belongs to a user who is no longer an active member"));
    }
    let id: Uuid = row.get(0);
    let last: Option<DateTime<Utc>> = row.get(9);
    if last.is_none_or(|l| now - l >= TOUCH_INTERVAL) {
        tx.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", &[&id, &now]).await?;
    }
    tx.commit().await?;
    // What the creator holds now bounds what the key may do (platform roles count only in the
    // platform tenant, as for sessions).
    let platform = row.get::<_, String>(7) == "platform";
    let creator_roles: Vec<String> = row.get(10);
    let creator_roles: Vec<String> = creator_roles
        .into_iter()
        .filter(|r| platform || !crate::identity::model::is_platform_role(r))
        .collect();
    let creator = role_permissions(&creator_roles);
    let listed: Vec<String> = row.get(2);
    let permissions = listed
        .iter()
        .filter_map(|p| p.parse::<Permission>().ok())
        .filter(|p| creator.iter().any(|c| c.grants(p)))
        .collect();
    let limits = super::model::TenantLimits { read: row.get(11), write: row.get(12) };
    Ok(LiveKey { limits, id, tenant, created_by: row.get(1), permissions })
}

/// An API key as listed (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// Enough of the key to recognise it: `rgk_<tenant>…<secret start>`.
    pub display_prefix: String,
    pub permissions: Vec<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Set on a rotated key: it works until then.
    pub grace_until: Option<DateTime<Utc>>,
    pub replaced_by: Option<Uuid>,
    /// active, rotating (rotated, still in its grace period), expired or revoked.
    pub status: String,
}

const SELECT: &str = "SELECT id, name, display_prefix, permissions, created_by, created_at, expires_at,
        last_used_at, revoked_at, grace_until, replaced_by FROM api_keys";

fn api_key(r: &Row, now: DateTime<Utc>) -> ApiKey {
    let expires_at: Option<DateTime<Utc>> = r.get(6);
    let revoked_at: Option<DateTime<Utc>> = r.get(8);
    let grace_until: Option<DateTime<Utc>> = r.get(9);
    let status = if revoked_at.is_some() || grace_until.is_some_and(|g| g <= now) {
        "revoked"
    } else if expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else if grace_until.is_some() {
        "rotating"
    } else {
        "active"
    };
    ApiKey {
        id: r.get(0),
        name: r.get(1),
        display_prefix: r.get(2),
        permissions: r.get(3),
        created_by: r.get(4),
        created_at: r.get(5),
        expires_at,
        last_used_at: r.get(7),
        revoked_at,
        grace_until,
        replaced_by: r.get(10),
        status: status.to_owned(),
    }
}

/// A key as created or rotated: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The whole key. Store it now: it is never shown again.
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKey,
}

fn no_keys_by_keys(p: &Principal) -> Result<(), ApiError> {
    match p.key_id {
        Some(_) => Err(ApiError::Forbidden("API keys cannot manage API keys".into())),
        None => Ok(()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    /// `resource:action[:scope]` permissions, each held by you.
    pub permissions: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn check_new(p: &Principal, req: &NewApiKey) -> Result<Vec<String>, ApiError> {
    let mut errors = Vec::new();
    if req.name.trim().is_empty() || req.name.chars().count() > 100 {
        errors.push(FieldError::new("name", "invalid", "1 to 100 characters"));
    }
    if req.permissions.is_empty() {
        errors.push(FieldError::new("permissions", "required", "at least one permission"));
    }
    let mut normalized = Vec::new();
    for (i, raw) in req.permissions.iter().enumerate() {
        let field = format!("permissions[{i}]");
        match raw.parse::<Permission>() {
            Err(e) => errors.push(FieldError::new(field, "invalid", e.to_string())),
            Ok(perm) if perm.scope() == Scope::All => {
                errors.push(FieldError::new(field, "cross_tenant", "a key acts for exactly one tenant"))
            }
            Ok(perm) if !p.holds(&perm) => {
                errors.push(FieldError::new(field, "not_held", format!("you do not hold {perm}")))
            }
            Ok(perm) => normalized.push(perm.to_string()),
        }
    }
    if req.expires_at.is_some_and(|e| e <= p.now) {
        errors.push(FieldError::new("expires_at", "in_the_past", "must be in the future"));
    }
    normalized.sort();
    normalized.dedup();
    if errors.is_empty() { Ok(normalized) } else { Err(ApiError::Validation(errors)) }
}

/// Stores a new key for `tenant` made by `created_by` and returns it with its one-time secret.
/// The caller has checked the permissions (the API does; the demo seed grants its own admin's).
pub async fn mint(
    tx: &tokio_postgres::Transaction<'_>,
    tenant: TenantId,
    created_by: Uuid,
    name: &str,
    permissions: &[String],
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<CreatedApiKey, ApiError> {
    let (key, hash, shown) = new_key(tenant)?;
    let id = Uuid::now_v7();
    let row = tx
        .query_one(
            &format!(
                "WITH k AS (INSERT INTO api_keys (id, tenant_id, name, display_prefix, secret_hash, permissions,
                                                  created_by, created_at, expires_at)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *)
                 {} ",
                SELECT.replace("FROM api_keys", "FROM k")
            ),
            &[&id, &tenant.as_uuid(), &name.trim(), &shown, &hash, &permissions, &created_by, &now, &expires_at],
        )
        .await?;
    Ok(CreatedApiKey { key, api_key: api_key(&row, now) })
}

/// Creates an API key for the acting tenant.
#[utoipa::path(post, path = "/api/v1/api-keys", operation_id = "api_keys_create", tag = "identity",
    security(("bearer" = [])),
    request_body = NewApiKey,
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = CreatedApiKey),
        (status = 403, description = "Needs api_keys:create (and a person: keys cannot make keys)", body = crate::Problem),
        (status = 422, description = "A permission you do not hold, a cross-tenant one, or a past expiry", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    no_keys_by_keys(&principal)?;
    if principal.cross_tenant {
        return Err(ApiError::Forbidden("an API key belongs to its creator's own tenant".into()));
    }
    let permissions = check_new(&principal, &req)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let created = mint(
        &tx,
        principal.tenant,
        principal.user_id,
        &req.name,
        &permissions,
        req.expires_at,
        principal.now,
    )
    .await?;
    audit::record(
        &tx,
        &principal,
        Entry::new("api_key.created", "api_key", created.api_key.id).after(&created.api_key),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiKeyFilter {
    /// `active` (default: usable now, rotating included) or `all`.
    pub status: Option<String>,
}

/// The acting tenant's API keys, newest first (never their secrets).
#[utoipa::path(get, path = "/api/v1/api-keys", operation_id = "api_keys_list", tag = "identity",
    security(("bearer" = [])),
    params(ApiKeyFilter, PageQuery),
    responses((status = 200, description = "One page", body = inline(Page<ApiKey>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<ApiKeyFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    no_keys_by_keys(&principal)?;
    let (limit, cursor) = page.parse()?;
    let all = match f.status.as_deref() {
        None | Some("active") => false,
        Some("all") => true,
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "query:status",
                "invalid",
                "active or all",
            )]));
        }
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE ($1 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
                                        AND (grace_until IS NULL OR grace_until > $2)))
                    AND ($3::uuid IS NULL OR id < $3)
                  ORDER BY id DESC LIMIT $4"
            ),
            &[&all, &principal.now, &cursor, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(|r| api_key(r, principal.now)).collect(), limit, |k: &ApiKey| k.id)))
}

fn key_id(raw: &str) -> Result<Uuid, ApiError> {
    crate::platform::http::path_id(raw, "an API key")
}

async fn load(tx: &tokio_postgres::Transaction<'_>, p: &Principal, id: Uuid) -> Result<ApiKey, ApiError> {
    tx.query_opt(&format!("{SELECT} WHERE id = $1 FOR UPDATE"), &[&id])
        .await?
        .map(|r| api_key(&r, p.now))
        .ok_or_else(|| ApiError::NotFound(format!("API key {id}")))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the old key keeps working (default 86400, at most 604800; 0 stops it at once).
    pub grace_seconds: Option<i64>,
}

/// Issues a successor with the same name, permissions and expiry; the old key works for the grace
/// period, then stops.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", operation_id = "api_keys_rotate", tag = "identity",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    request_body = Rotation,
    responses(
        (status = 201, description = "The successor; `key` is shown this once", body = CreatedApiKey),
        (status = 404, description = "No such key in the acting tenant", body = crate::Problem),
        (status = 409, description = "The key is revoked, expired or already rotated", body = crate::Problem),
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Rotation>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    no_keys_by_keys(&principal)?;
    if principal.cross_tenant {
        return Err(ApiError::Forbidden("an API key belongs to its creator's own tenant".into()));
    }
    let id = key_id(&id)?;
    let grace = Duration::seconds(req.grace_seconds.unwrap_or(DEFAULT_GRACE.num_seconds()));
    if grace < Duration::zero() || grace > MAX_GRACE {
        return Err(ApiError::Validation(vec![FieldError::new(
            "grace_seconds",
            "out_of_range",
            "0 to 604800",
        )]));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let old = load(&tx, &principal, id).await?;
    if old.status != "active" {
        return Err(ApiError::Conflict { code: "not_active", detail: format!("the key is {}", old.status) });
    }
    // The successor may not carry more than the rotating person holds.
    if let Some(p) =
        old.permissions.iter().find(|p| p.parse::<Permission>().is_ok_and(|p| !principal.holds(&p)))
    {
        return Err(ApiError::Forbidden(format!("the key carries {p}, which you do not hold")));
    }
    let created = mint(
        &tx,
        principal.tenant,
        principal.user_id,
        &old.name,
        &old.permissions,
        old.expires_at,
        principal.now,
    )
    .await?;
    tx.execute(
        "UPDATE api_keys SET grace_until = $2, replaced_by = $3 WHERE id = $1",
        &[&id, &(principal.now + grace), &created.api_key.id],
    )
    .await?;
    let entry = Entry::new("api_key.rotated", "api_key", id).before(&old).after(
        serde_json::json!({ "grace_until": principal.now + grace, "replaced_by": created.api_key.id }),
    );
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a key at once (a rotating one too).
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", operation_id = "api_keys_revoke", tag = "identity",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key in the acting tenant", body = crate::Problem),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    no_keys_by_keys(&principal)?;
    let id = key_id(&id)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, &principal, id).await?;
    if before.revoked_at.is_none() {
        tx.execute("UPDATE api_keys SET revoked_at = $2 WHERE id = $1", &[&id, &principal.now]).await?;
        audit::record(&tx, &principal, Entry::new("api_key.revoked", "api_key", id).before(&before)).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_garbage_is_refused() {
        let tenant = TenantId::new();
        let (key, hash, shown) = new_key(tenant).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(parse_key(&key), Some((tenant, hash)));
        assert!(key.starts_with(PREFIX) && shown.starts_with(PREFIX) && shown.len() < 30);
        for bad in
            ["", "rgk_", "rgk_zz", &key[..key.len() - 1], &format!("{key}x"), &key.replace("rgk_", "rgx_")]
        {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }
}
