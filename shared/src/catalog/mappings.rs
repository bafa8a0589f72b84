//! The SKU resolution engine: a tenant's identifiers → platform products.
//!
//! A mapping is a tenant SKU (`sku`), a further private-label name (`alias`), or a channel's own
//! product id, optionally with a variant id (`channel_product`, for channels such as WooCommerce
//! that may send `sku: ""`); optionally only for one channel. Identifiers match without regard to
//! case. [`resolve`] tries, best first: the channel product id with its variant, without it; the
//! SKU mapped for that channel, for any channel; the tenant SKU in the tenant's catalog; the
//! platform SKU itself when the tenant's catalog sells it. Unknown identifiers are reported per
//! item, never as an error for a whole batch; [`suggestions`] ranks products for one (pg_trgm).
//!
//! Creating mappings emits `sku_mapping.created` (intake releases the orders it held for them).

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use tokio_postgres::{Row, Transaction};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::require_sellable;
use crate::identity::principal::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError, nullable, unique_violation};
use crate::platform::events::{self, DomainEvent, Envelope};
use crate::platform::http::{ApiJson, ApiQuery, parse_json, path_id, read_body};
use crate::platform::pagination::{Page, PageQuery, contains_pattern};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;
use crate::platform::validate::{check, identifier};

pub const KINDS: &[&str] = &["sku", "alias", "channel_product"];
/// Items one resolve request may carry.
pub const MAX_RESOLVE: usize = 1000;
/// Rows one bulk import may carry.
pub const MAX_BULK_ROWS: usize = 50_000;
/// Body limit of the bulk import route (the Lambda payload limit is 6 MB).
pub const BULK_BODY_LIMIT: usize = 6 * 1024 * 1024;
/// Row errors listed in one answer (the count covers them all).
const MAX_LISTED_ERRORS: usize = 1000;
/// Mappings per `sku_mapping.*` event (events stay far below EventBridge's 256 KB).
const MAPPINGS_PER_EVENT: usize = 100;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Mapping {
    pub id: Uuid,
    /// `sku`, `alias` or `channel_product`.
    pub kind: String,
    /// The channel it is limited to (`null`: any channel).
    pub channel: Option<String>,
    /// The tenant SKU, the alias, or the channel's product id.
    pub identifier: String,
    /// The channel's variant id (`channel_product` only).
    pub variant_id: Option<String>,
    pub platform_sku: String,
    pub product_id: Uuid,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str =
    "SELECT m.id, m.kind, m.channel, m.identifier, m.variant_id, p.sku, m.product_id, m.note,
        m.created_at, m.updated_at
   FROM sku_mappings m JOIN products p ON p.id = m.product_id";

fn mapping(r: &Row) -> Mapping {
    Mapping {
        id: r.get(0),
        kind: r.get(1),
        channel: r.get(2),
        identifier: r.get(3),
        variant_id: r.get(4),
        platform_sku: r.get(5),
        product_id: r.get(6),
        note: r.get(7),
        created_at: r.get(8),
        updated_at: r.get(9),
    }
}

/// The data of `sku_mapping.created` and `sku_mapping.updated`: the mappings concerned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MappingsChanged {
    pub mappings: Vec<MappingRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MappingRef {
    pub id: Uuid,
    pub kind: String,
    pub channel: Option<String>,
    pub identifier: String,
    pub variant_id: Option<String>,
    pub product_id: Uuid,
}

/// New mappings (or a catalog item's tenant SKU): identifiers that now resolve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkuMappingCreated(pub MappingsChanged);
impl DomainEvent for SkuMappingCreated {
    const TYPE: &'static str = "sku_mapping.created";
    const VERSION: u32 = 1;
}

/// Mappings that now point at another product.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkuMappingUpdated(pub MappingsChanged);
impl DomainEvent for SkuMappingUpdated {
    const TYPE: &'static str = "sku_mapping.updated";
    const VERSION: u32 = 1;
}

/// Records one `sku_mapping.created` event per 100 mappings, in the caller's transaction.
pub async fn record_created(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    refs: Vec<MappingRef>,
) -> Result<Vec<Envelope>, ApiError> {
    record_chunked(tx, state, tenant, refs, SkuMappingCreated).await
}

async fn record_chunked<E: DomainEvent>(
    tx: &Transaction<'_>,
    state: &AppState,
    tenant: TenantId,
    refs: Vec<MappingRef>,
    event: fn(MappingsChanged) -> E,
) -> Result<Vec<Envelope>, ApiError> {
    let mut out = Vec::new();
    for chunk in refs.chunks(MAPPINGS_PER_EVENT) {
        let e = event(MappingsChanged { mappings: chunk.to_vec() });
        out.push(
            events::record(tx, Some(tenant), state.clock().as_ref(), &e).await.map_err(ApiError::internal)?,
        );
    }
    Ok(out)
}

/// A channel identifier as JSON sends it: a string, or an integer of any size (Shopify's ids pass
/// 2^53, so they are kept as text, never as floating point).
pub fn id_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IdLike {
        S(String),
        U(u64),
        I(i64),
    }
    Ok(Option::<IdLike>::deserialize(d)?.map(|v| match v {
        IdLike::S(s) => s,
        IdLike::U(u) => u.to_string(),
        IdLike::I(i) => i.to_string(),
    }))
}

/// One mapping as the API, a JSON import row and a CSV import row take it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    /// `sku` (default), `alias` or `channel_product`.
    pub kind: Option<String>,
    /// The tenant SKU, the alias, or the channel's product id (string or integer).
    #[serde(default, deserialize_with = "id_like")]
    #[schema(value_type = String)]
    pub identifier: Option<String>,
    /// Limit to one channel (required for `channel_product`): a-z, 0-9, `_`, `-`.
    pub channel: Option<String>,
    /// `channel_product` only: the channel's variant id.
    #[serde(default, deserialize_with = "id_like")]
    #[schema(value_type = Option<String>)]
    pub variant_id: Option<String>,
    pub platform_sku: Option<String>,
    pub note: Option<String>,
}

/// A checked mapping, before its platform SKU is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Checked {
    kind: String,
    channel: Option<String>,
    identifier: String,
    variant_id: Option<String>,
    platform_sku: String,
    note: Option<String>,
}

impl Checked {
    /// What makes a mapping unique (SKUs and aliases share a namespace; case does not count).
    fn key(&self) -> (bool, String, String, String) {
        (
            self.kind == "channel_product",
            self.identifier.to_lowercase(),
            self.channel.clone().unwrap_or_default(),
            self.variant_id.clone().unwrap_or_default(),
        )
    }
}

fn empty_to_none(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks one input; field names are prefixed with `at` (`""`, or `rows[7].` for imports).
fn check_input(input: &MappingInput, at: &str, errors: &mut Vec<FieldError>) -> Option<Checked> {
    let before = errors.len();
    let kind = empty_to_none(&input.kind).unwrap_or("sku").to_owned();
    if !KINDS.contains(&kind.as_str()) {
        errors.push(FieldError::new(format!("{at}kind"), "invalid", "sku, alias or channel_product"));
    }
    let ident = match empty_to_none(&input.identifier) {
        Some(i) => identifier(i, &format!("{at}identifier"), errors),
        None => {
            errors.push(FieldError::new(format!("{at}identifier"), "required", "the identifier to map"));
            String::new()
        }
    };
    let channel = empty_to_none(&input.channel).map(str::to_lowercase);
    if channel.as_deref().is_some_and(|c| !crate::platform::validate::code_name(c)) {
        errors.push(FieldError::new(format!("{at}channel"), "invalid", "1-63 of a-z, 0-9, '_' and '-'"));
    }
    let variant_id = empty_to_none(&input.variant_id).map(str::to_owned);
    if kind == "channel_product" && channel.is_none() {
        errors.push(FieldError::new(
            format!("{at}channel"),
            "required",
            "a channel product id means something only within its channel",
        ));
    }
    if let Some(v) = &variant_id {
        if kind != "channel_product" {
            errors.push(FieldError::new(
                format!("{at}variant_id"),
                "not_allowed",
                "only for channel_product",
            ));
        } else if v.chars().count() > 64 || v.chars().any(char::is_control) {
            errors.push(FieldError::new(format!("{at}variant_id"), "invalid", "1 to 64 characters"));
        }
    }
    let platform_sku = match empty_to_none(&input.platform_sku) {
        Some(s) => s.to_owned(),
        None => {
            errors.push(FieldError::new(
                format!("{at}platform_sku"),
                "required",
                "the platform SKU it maps to",
            ));
            String::new()
        }
    };
    let note = empty_to_none(&input.note).map(str::to_owned);
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        errors.push(FieldError::new(format!("{at}note"), "too_long", "at most 500 characters"));
    }
    (errors.len() == before).then_some(Checked {
        kind,
        channel,
        identifier: ident,
        variant_id,
        platform_sku,
        note,
    })
}

fn exists_error(c: &Checked) -> ApiError {
    let what = match (&c.channel, &c.variant_id) {
        (Some(ch), Some(v)) => format!("{} {:?} (variant {v:?}) on channel {ch}", c.kind, c.identifier),
        (Some(ch), None) => format!("{} {:?} on channel {ch}", c.kind, c.identifier),
        _ => format!("{} {:?}", c.kind, c.identifier),
    };
    ApiError::Conflict { code: "mapping_exists", detail: format!("{what} is already mapped") }
}

async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Mapping, ApiError> {
    crate::platform::db::by_id(tx, SELECT, "m", id, lock, "SKU mapping", mapping).await
}

fn reference(m: &Mapping) -> MappingRef {
    MappingRef {
        id: m.id,
        kind: m.kind.clone(),
        channel: m.channel.clone(),
        identifier: m.identifier.clone(),
        variant_id: m.variant_id.clone(),
        product_id: m.product_id,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MappingFilter {
    /// `sku`, `alias` or `channel_product`.
    pub kind: Option<String>,
    pub channel: Option<String>,
    /// Part of the identifier, any case.
    pub q: Option<String>,
    /// Mappings to this platform SKU.
    pub platform_sku: Option<String>,
}

/// The acting tenant's SKU mappings, newest first.
#[utoipa::path(get, path = "/api/v1/mappings/skus", operation_id = "sku_mappings_list", tag = "sku mappings",
    params(MappingFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = inline(Page<Mapping>))))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<MappingFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Mapping>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let like = f.q.as_deref().map(|q| contains_pattern(&q.to_lowercase()));
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE m.tenant_id = $1 AND ($2::text IS NULL OR m.kind = $2)
                   AND ($3::text IS NULL OR m.channel = $3) AND ($4::text IS NULL OR m.identifier_key LIKE $4)
                   AND ($5::text IS NULL OR lower(p.sku) = lower($5)) AND ($6::uuid IS NULL OR m.id < $6)
                 ORDER BY m.id DESC LIMIT $7"
            ),
            &[
                &principal.tenant.as_uuid(),
                &f.kind,
                &f.channel,
                &like,
                &f.platform_sku,
                &cursor,
                &(limit + 1),
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows.iter().map(mapping).collect(), limit, |m: &Mapping| m.id)))
}

/// One SKU mapping of the acting tenant.
#[utoipa::path(get, path = "/api/v1/mappings/skus/{id}", operation_id = "sku_mappings_get", tag = "sku mappings",
    params(("id" = Uuid, Path, description = "Mapping id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The mapping", body = Mapping),
        (status = 404, description = "No such mapping", body = crate::Problem),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Mapping>, ApiError> {
    let id = path_id(&id, "a SKU mapping")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let found = load(&tx, id, false).await?;
    tx.commit().await?;
    Ok(Json(found))
}

/// Maps one identifier of the acting tenant to a platform product. Emits `sku_mapping.created`.
#[utoipa::path(post, path = "/api/v1/mappings/skus", operation_id = "sku_mappings_create", tag = "sku mappings",
    request_body = MappingInput, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Mapping),
        (status = 409, description = "The identifier is already mapped", body = crate::Problem),
        (status = 422, description = "Invalid fields, or no such platform product", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<MappingInput>,
) -> Result<(StatusCode, Json<Mapping>), ApiError> {
    let mut errors = Vec::new();
    let checked = check_input(&req, "", &mut errors);
    let Some(c) = checked.filter(|_| errors.is_empty()) else { return Err(ApiError::Validation(errors)) };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (product_id, _) = require_sellable(&tx, &c.platform_sku, "platform_sku").await?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO sku_mappings (id, tenant_id, kind, channel, identifier, variant_id, product_id, note, created_by,
                                   created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        &[
            &id,
            &principal.tenant.as_uuid(),
            &c.kind,
            &c.channel,
            &c.identifier,
            &c.variant_id,
            &product_id,
            &c.note,
            &principal.user_id,
            &principal.now,
        ],
    )
    .await
    .map_err(|e| if unique_violation(&e).is_some() { exists_error(&c) } else { e.into() })?;
    let made = load(&tx, id, false).await?;
    let envelopes = record_created(&tx, &state, principal.tenant, vec![reference(&made)]).await?;
    audit::record(&tx, &principal, Entry::new("sku_mapping.created", "sku_mapping", id).after(&made)).await?;
    tx.commit().await?;
    events::publish_committed(&state, &envelopes).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingPatch {
    /// Point the mapping at another platform product.
    pub platform_sku: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

/// Re-points a mapping or changes its note (its identifier is what it is: delete and create to
/// change it). Emits `sku_mapping.updated` when the product changes.
#[utoipa::path(patch, path = "/api/v1/mappings/skus/{id}", operation_id = "sku_mappings_update", tag = "sku mappings",
    params(("id" = Uuid, Path, description = "Mapping id")), request_body = MappingPatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Mapping),
        (status = 404, description = "No such mapping", body = crate::Problem),
        (status = 422, description = "Invalid fields, or no such platform product", body = crate::Problem),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MappingPatch>,
) -> Result<Json<Mapping>, ApiError> {
    let id = path_id(&id, "a SKU mapping")?;
    let note = req.note.map(|n| n.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
    if note.as_ref().and_then(|n| n.as_ref()).is_some_and(|n| n.chars().count() > 500) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "note",
            "too_long",
            "at most 500 characters",
        )]));
    }
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, id, true).await?;
    let product = match req.platform_sku.as_deref() {
        Some(sku) => require_sellable(&tx, sku, "platform_sku").await?.0,
        None => before.product_id,
    };
    tx.execute(
        "UPDATE sku_mappings SET note = $2, updated_at = $3 WHERE id = $1",
        &[&id, &note.unwrap_or_else(|| before.note.clone()), &principal.now],
    )
    .await?;
    if product != before.product_id {
        // Only then: the sellable-product check runs on a write of product_id, and the product the
        // mapping has may since have been withdrawn.
        tx.execute("UPDATE sku_mappings SET product_id = $2 WHERE id = $1", &[&id, &product]).await?;
    }
    let after = load(&tx, id, false).await?;
    let envelopes = if after.product_id != before.product_id {
        record_chunked(&tx, &state, principal.tenant, vec![reference(&after)], SkuMappingUpdated).await?
    } else {
        Vec::new()
    };
    let entry = Entry::new("sku_mapping.updated", "sku_mapping", id).before(&before).after(&after);
    audit::record(&tx, &principal, entry).await?;
    tx.commit().await?;
    events::publish_committed(&state, &envelopes).await?;
    Ok(Json(after))
}

/// Deletes a mapping: the identifier no longer resolves through it.
#[utoipa::path(delete, path = "/api/v1/mappings/skus/{id}", operation_id = "sku_mappings_delete", tag = "sku mappings",
    params(("id" = Uuid, Path, description = "Mapping id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such mapping", body = crate::Problem),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, "a SKU mapping")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let before = load(&tx, id, true).await?;
    tx.execute("DELETE FROM sku_mappings WHERE id = $1", &[&id]).await?;
    audit::record(&tx, &principal, Entry::new("sku_mapping.deleted", "sku_mapping", id).before(&before))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Resolution

/// What to resolve: the SKU a channel sent (empty counts as none), and/or the channel's own
/// product and variant ids.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub sku: Option<String>,
    pub channel: Option<String>,
    /// The channel's product id (string or integer).
    #[serde(default, deserialize_with = "id_like")]
    #[schema(value_type = Option<String>)]
    pub product_id: Option<String>,
    /// The channel's variant id (string or integer).
    #[serde(default, deserialize_with = "id_like")]
    #[schema(value_type = Option<String>)]
    pub variant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Resolution {
    /// Position in the request, from 0.
    pub index: usize,
    /// `resolved`; `unknown` (nothing maps it); `unavailable` (mapped to a product that is
    /// inactive or no longer approved).
    pub status: String,
    pub platform_sku: Option<String>,
    pub product_id: Option<Uuid>,
    pub product_name: Option<String>,
    /// `channel_product`, `sku`, `alias`, `tenant_sku` (the tenant's catalog) or `platform_sku`.
    pub matched_by: Option<String>,
    pub mapping_id: Option<Uuid>,
    /// The tenant's own SKU and name for the product, when its catalog sells it.
    pub tenant_sku: Option<String>,
    pub tenant_name: Option<String>,
    pub approval_gated: Option<bool>,
}

/// Resolves each lookup for `tenant` in one query (the transaction must be scoped to it).
pub async fn resolve(
    tx: &Transaction<'_>,
    tenant: TenantId,
    items: &[Lookup],
) -> Result<Vec<Resolution>, ApiError> {
    // What no mapping can hold (empty, control characters) matches nothing: that item is unknown.
    let norm = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
            .map(str::to_owned)
    };
    let n: Vec<i32> = (0..items.len() as i32).collect();
    let skus: Vec<Option<String>> = items.iter().map(|i| norm(&i.sku)).collect();
    let channels: Vec<Option<String>> =
        items.iter().map(|i| norm(&i.channel).map(|c| c.to_lowercase())).collect();
    let pids: Vec<Option<String>> = items.iter().map(|i| norm(&i.product_id)).collect();
    let variants: Vec<Option<String>> = items.iter().map(|i| norm(&i.variant_id)).collect();
    let rows = tx
        .query(
            "SELECT i.n, r.product_id, r.matched_by, r.mapping_id, p.sku, p.name, p.active, ci.tenant_sku, ci.name,
                    p.approval_gated
               FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS i(n, sku, channel, pid, variant)
               LEFT JOIN LATERAL (
                   SELECT c.product_id, c.matched_by, c.mapping_id FROM (
                       SELECT m.product_id, 'channel_product'::text AS matched_by, m.id AS mapping_id,
                              CASE WHEN m.variant_key <> '' THEN 1 ELSE 2 END AS rank
                         FROM sku_mappings m
                        WHERE i.pid IS NOT NULL AND i.channel IS NOT NULL AND m.tenant_id = $6
                          AND m.namespace = 'product' AND m.identifier_key = lower(i.pid)
                          AND m.channel_key = i.channel AND m.variant_key IN ('', COALESCE(i.variant, ''))
                       UNION ALL
                       SELECT m.product_id, m.kind, m.id, CASE WHEN m.channel_key <> '' THEN 3 ELSE 4 END
                         FROM sku_mappings m
                        WHERE i.sku IS NOT NULL AND m.tenant_id = $6 AND m.namespace = 'sku'
                          AND m.identifier_key = lower(i.sku) AND m.channel_key IN ('', COALESCE(i.channel, ''))
                       UNION ALL
                       SELECT x.product_id, 'tenant_sku', NULL, 5 FROM catalog_items x
                        WHERE i.sku IS NOT NULL AND x.tenant_id = $6 AND lower(x.tenant_sku) = lower(i.sku)
                       UNION ALL
                       SELECT x.product_id, 'platform_sku', NULL, 6
                         FROM catalog_items x JOIN products pp ON pp.id = x.product_id
                        WHERE i.sku IS NOT NULL AND x.tenant_id = $6 AND lower(pp.sku) = lower(i.sku)
                   ) c ORDER BY c.rank LIMIT 1
               ) r ON true
               LEFT JOIN products p ON p.id = r.product_id AND p.review_status = 'approved'
               LEFT JOIN catalog_items ci ON ci.tenant_id = $6 AND ci.product_id = r.product_id
              ORDER BY i.n",
            &[&n, &skus, &channels, &pids, &variants, &tenant.as_uuid()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let product: Option<Uuid> = r.get(1);
            let sku: Option<String> = r.get(4);
            let active: Option<bool> = r.get(6);
            let status = match (product, active) {
                (None, _) => "unknown",
                (Some(_), Some(true)) => "resolved",
                (Some(_), _) => "unavailable",
            };
            Resolution {
                index: r.get::<_, i32>(0) as usize,
                status: status.to_owned(),
                platform_sku: sku,
                product_id: product,
                product_name: r.get(5),
                matched_by: r.get(2),
                mapping_id: r.get(3),
                tenant_sku: r.get(7),
                tenant_name: r.get(8),
                approval_gated: r.get(9),
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// 1 to 1000 lookups.
    pub items: Vec<Lookup>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolveResponse {
    pub results: Vec<Resolution>,
    pub resolved: usize,
    pub unknown: usize,
    pub unavailable: usize,
}

/// Resolves one or many identifiers to platform products. Unknown ones are reported per item
/// (see `/suggestions` for candidates), never as an error for the batch.
#[utoipa::path(post, path = "/api/v1/mappings/skus/resolve", operation_id = "sku_mappings_resolve", tag = "sku mappings",
    request_body = ResolveRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per item, in order", body = ResolveResponse),
        (status = 422, description = "No items, too many, or an item with nothing to look up", body = crate::Problem),
    ))]
pub async fn resolve_route(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> Result<Json<ResolveResponse>, ApiError> {
    let mut errors = Vec::new();
    if req.items.is_empty() || req.items.len() > MAX_RESOLVE {
        errors.push(FieldError::new("items", "invalid", format!("1 to {MAX_RESOLVE} items")));
    }
    for (i, item) in req.items.iter().enumerate() {
        if empty_to_none(&item.sku).is_none() && empty_to_none(&item.product_id).is_none() {
            errors.push(FieldError::new(format!("items[{i}]"), "required", "a sku or a channel product_id"));
        }
        if empty_to_none(&item.product_id).is_some() && empty_to_none(&item.channel).is_none() {
            errors.push(FieldError::new(
                format!("items[{i}].channel"),
                "required",
                "a channel product id needs its channel",
            ));
        }
    }
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let results = resolve(&tx, principal.tenant, &req.items).await?;
    tx.commit().await?;
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    let (resolved, unknown, unavailable) = (count("resolved"), count("unknown"), count("unavailable"));
    Ok(Json(ResolveResponse { results, resolved, unknown, unavailable }))
}

// ---------------------------------------------------------------------------------------------
// Suggestions

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionQuery {
    /// The unknown identifier.
    pub sku: String,
    /// 1 to 20 (default 5).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    pub product_id: Uuid,
    pub platform_sku: String,
    pub name: String,
    /// Trigram similarity (0 to 1) of the best match; suggestions are ordered by it.
    pub score: f32,
    /// What matched best: `platform_sku`, `name`, `tenant_sku` (the tenant's catalog) or
    /// `mapping` (an identifier the tenant already maps to this product).
    pub matched_on: String,
    /// The text that matched.
    pub matched_value: String,
}

/// Ranks platform products by how much the unknown identifier looks like their platform SKU,
/// their name, and the tenant's own SKUs and mappings that point at them (pg_trgm), best first.
#[utoipa::path(get, path = "/api/v1/mappings/skus/suggestions", operation_id = "sku_mappings_suggestions", tag = "sku mappings",
    params(SuggestionQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "Candidates, best first", body = Vec<Suggestion>),
        (status = 422, description = "No sku, or a bad limit", body = crate::Problem),
    ))]
pub async fn suggestions(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<SuggestionQuery>,
) -> Result<Json<Vec<Suggestion>>, ApiError> {
    let mut errors = Vec::new();
    let sku = identifier(&q.sku, "query:sku", &mut errors);
    let limit = q.limit.unwrap_or(5);
    if !(1..=20).contains(&limit) {
        errors.push(FieldError::new("query:limit", "out_of_range", "1 to 20"));
    }
    check(errors)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            "WITH mapped AS (
                 -- The tenant's identifiers that look like it (the trigram index finds them: at
                 -- least pg_trgm.similarity_threshold alike), best per product.
                 SELECT DISTINCT ON (m.product_id) m.product_id, similarity(m.identifier_key, lower($1)) AS score,
                        m.identifier
                   FROM sku_mappings m
                  WHERE m.tenant_id = $2 AND m.identifier_key % lower($1)
                  ORDER BY m.product_id, 2 DESC
             )
             SELECT id, sku, name, score, matched_on, matched_value FROM (
                 SELECT p.id, p.sku, p.name, best.score, best.matched_on, best.matched_value
                   FROM products p
                   CROSS JOIN LATERAL (
                       SELECT s.score, s.matched_on, s.matched_value FROM (
                           SELECT similarity(lower(p.sku), lower($1)) AS score, 'platform_sku' AS matched_on,
                                  p.sku AS matched_value, 1 AS pref
                           UNION ALL
                           SELECT similarity(lower(p.name), lower($1)), 'name', p.name, 2
                           UNION ALL
                           SELECT similarity(lower(x.tenant_sku), lower($1)), 'tenant_sku', x.tenant_sku, 3
                             FROM catalog_items x WHERE x.tenant_id = $2 AND x.product_id = p.id
                           UNION ALL
                           SELECT x.score, 'mapping', x.identifier, 4 FROM mapped x WHERE x.product_id = p.id
                       ) s ORDER BY s.score DESC, s.pref LIMIT 1
                   ) best
                  WHERE p.review_status = 'approved' AND p.active
             ) ranked
             WHERE score > 0
             ORDER BY score DESC, sku
             LIMIT $3",
            &[&sku, &principal.tenant.as_uuid(), &limit],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(
        rows.iter()
            .map(|r| Suggestion {
                product_id: r.get(0),
                platform_sku: r.get(1),
                name: r.get(2),
                score: r.get(3),
                matched_on: r.get(4),
                matched_value: r.get(5),
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Bulk import and export

/// CSV columns, in the order export writes them (import accepts them in any order).
pub const CSV_COLUMNS: &[&str] = &["kind", "identifier", "channel", "variant_id", "platform_sku", "note"];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BulkQuery {
    /// `all_or_nothing` (default: one bad row and nothing is applied) or `partial` (the valid
    /// rows are applied, the others reported).
    pub mode: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkJson {
    pub mappings: Vec<MappingInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    /// The row, from 1 (CSV: the header is not counted; `line` is the file's line).
    pub row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkReport {
    pub mode: String,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    /// Rows that matched an existing mapping exactly.
    pub unchanged: usize,
    pub failed: usize,
    /// The first 1000 row errors (all of them are counted in `failed`).
    pub errors: Vec<RowError>,
}

/// Import rows with where they came from.
struct Row_ {
    row: usize,
    line: Option<u64>,
    input: MappingInput,
}

fn parse_csv(bytes: &[u8]) -> Result<(Vec<Row_>, Vec<RowError>), ApiError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::MalformedBody(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect::<Vec<_>>();
    let mut header_errors = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if !CSV_COLUMNS.contains(&h.as_str()) {
            header_errors.push(FieldError::new(
                format!("header[{i}]"),
                "unknown_column",
                format!("{h:?} is not one of {}", CSV_COLUMNS.join(", ")),
            ));
        }
    }
    for required in ["identifier", "platform_sku"] {
        if !headers.iter().any(|h| h == required) {
            header_errors.push(FieldError::new("header", "missing_column", format!("a {required} column")));
        }
    }
    check(header_errors)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        match record {
            Ok(rec) => {
                let line = rec.position().map(|p| p.line());
                let mut input = MappingInput::default();
                for (h, v) in headers.iter().zip(rec.iter()) {
                    let v = (!v.is_empty()).then(|| v.to_owned());
                    match h.as_str() {
                        "kind" => input.kind = v,
                        "identifier" => input.identifier = v,
                        "channel" => input.channel = v,
                        "variant_id" => input.variant_id = v,
                        "platform_sku" => input.platform_sku = v,
                        _ => input.note = v,
                    }
                }
                rows.push(Row_ { row, line, input });
            }
            Err(e) => errors.push(RowError {
                row,
                line: e.position().map(|p| p.line()),
                field: "row".into(),
                code: "malformed".into(),
                message: e.to_string(),
            }),
        }
    }
    Ok((rows, errors))
}

/// Imports many mappings at once (JSON `{"mappings": [...]}` or `text/csv` with a header row of
/// kind, identifier, channel, variant_id, platform_sku, note). Existing mappings with the same
/// identifier are re-pointed. All or nothing by default; `mode=partial` applies the valid rows.
#[utoipa::path(post, path = "/api/v1/mappings/skus/bulk", operation_id = "sku_mappings_bulk", tag = "sku mappings",
    params(BulkQuery), request_body(content((BulkJson = "application/json"), (String = "text/csv"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Applied (in partial mode: the valid rows), with a per-row error report", body = BulkReport),
        (status = 413, description = "Body over 6 MB", body = crate::Problem),
        (status = 415, description = "Neither JSON nor CSV", body = crate::Problem),
        (status = 422, description = "All or nothing, and some rows are invalid: nothing applied; each row named", body = crate::Problem),
    ))]
pub async fn bulk(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<BulkQuery>,
    request: Request,
) -> Result<Json<BulkReport>, ApiError> {
    let partial = match q.mode.as_deref() {
        None | Some("all_or_nothing") => false,
        Some("partial") => true,
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "query:mode",
                "invalid",
                "all_or_nothing or partial",
            )]));
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let csv = match content_type.as_str() {
        "text/csv" => true,
        "application/json" => false,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected application/json or text/csv, got {}",
                if other.is_empty() { "none" } else { other }
            )));
        }
    };
    let body = read_body(request, &()).await?;
    let (rows, mut row_errors) = if csv {
        parse_csv(&body)?
    } else {
        let parsed: BulkJson = parse_json(&body)?;
        let rows =
            parsed.mappings.into_iter().enumerate().map(|(i, input)| Row_ { row: i + 1, line: None, input });
        (rows.collect(), Vec::new())
    };
    let total = rows.len() + row_errors.len();
    if total == 0 || total > MAX_BULK_ROWS {
        return Err(ApiError::Validation(vec![FieldError::new(
            "mappings",
            "invalid",
            format!("1 to {MAX_BULK_ROWS} rows"),
        )]));
    }

    // Check every row, and catch a row that repeats an earlier one.
    let mut checked: Vec<(usize, Option<u64>, Checked)> = Vec::with_capacity(rows.len());
    let mut seen: HashMap<(bool, String, String, String), usize> = HashMap::new();
    for r in &rows {
        let mut errors = Vec::new();
        match check_input(&r.input, "", &mut errors) {
            Some(c) => match seen.get(&c.key()) {
                Some(first) => row_errors.push(RowError {
                    row: r.row,
                    line: r.line,
                    field: "identifier".into(),
                    code: "duplicate".into(),
                    message: format!("row {first} maps the same identifier"),
                }),
                None => {
                    seen.insert(c.key(), r.row);
                    checked.push((r.row, r.line, c));
                }
            },
            None => row_errors.extend(errors.into_iter().map(|e| RowError {
                row: r.row,
                line: r.line,
                field: e.field,
                code: e.code,
                message: e.message,
            })),
        }
    }

    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    // Every platform SKU named, in one query.
    let wanted: Vec<String> = checked
        .iter()
        .map(|(_, _, c)| c.platform_sku.to_lowercase())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let products: HashMap<String, Uuid> = tx
        .query(
            "SELECT lower(sku), id FROM products WHERE lower(sku) = ANY($1) AND review_status = 'approved'",
            &[&wanted],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut valid = Vec::with_capacity(checked.len());
    for (row, line, c) in checked {
        match products.get(&c.platform_sku.to_lowercase()) {
            Some(id) => valid.push((*id, c)),
            None => row_errors.push(RowError {
                row,
                line,
                field: "platform_sku".into(),
                code: "unknown_product".into(),
                message: format!("no platform product {:?} is available to this tenant", c.platform_sku),
            }),
        }
    }
    row_errors.sort_by_key(|e| e.row);
    let failed_rows = row_errors.iter().map(|e| e.row).collect::<HashSet<_>>().len();
    if !row_errors.is_empty() && !partial {
        let listed = row_errors
            .iter()
            .take(MAX_LISTED_ERRORS)
            .map(|e| {
                let at = e.line.map(|l| format!(" (line {l})")).unwrap_or_default();
                FieldError::new(
                    format!("rows[{}].{}", e.row, e.field),
                    e.code.clone(),
                    format!("row {}{at}: {}", e.row, e.message),
                )
            })
            .collect();
        return Err(ApiError::Validation(listed));
    }

    // One statement applies them all; unchanged rows are not rewritten.
    let (mut kinds, mut channels, mut idents, mut variants, mut product_ids, mut notes, mut ids) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for (pid, c) in &valid {
        ids.push(Uuid::now_v7());
        kinds.push(c.kind.clone());
        channels.push(c.channel.clone());
        idents.push(c.identifier.clone());
        variants.push(c.variant_id.clone());
        product_ids.push(*pid);
        notes.push(c.note.clone());
    }
    // What the rows about to be re-pointed map to now, for the audit entry.
    let previous: HashMap<Uuid, Uuid> = tx
        .query(
            "SELECT m.id, m.product_id
               FROM sku_mappings m
               JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS k(kind, channel, identifier, variant)
                 ON m.namespace = CASE WHEN k.kind = 'channel_product' THEN 'product' ELSE 'sku' END
                AND m.identifier_key = lower(k.identifier) AND m.channel_key = COALESCE(k.channel, '')
                AND m.variant_key = COALESCE(k.variant, '')
              WHERE m.tenant_id = $1",
            &[&principal.tenant.as_uuid(), &kinds, &channels, &idents, &variants],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let applied = tx
        .query(
            "INSERT INTO sku_mappings AS m (id, tenant_id, kind, channel, identifier, variant_id, product_id, note,
                                            created_by, created_at, updated_at)
             SELECT i.id, $1, i.kind, i.channel, i.identifier, i.variant, i.product_id, i.note, $2, $3, $3
               FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::uuid[], $10::text[])
                    AS i(id, kind, channel, identifier, variant, product_id, note)
             ON CONFLICT (tenant_id, namespace, identifier_key, channel_key, variant_key) DO UPDATE
                SET product_id = EXCLUDED.product_id, note = EXCLUDED.note, kind = EXCLUDED.kind,
                    updated_at = EXCLUDED.updated_at
              WHERE (m.product_id, m.note, m.kind) IS DISTINCT FROM (EXCLUDED.product_id, EXCLUDED.note, EXCLUDED.kind)
             RETURNING m.id, m.kind, m.channel, m.identifier, m.variant_id, m.product_id, (m.xmax = 0)",
            &[
                &principal.tenant.as_uuid(),
                &principal.user_id,
                &principal.now,
                &ids,
                &kinds,
                &channels,
                &idents,
                &variants,
                &product_ids,
                &notes,
            ],
        )
        .await
        .map_err(|e| {
            if e.code() == Some(&tokio_postgres::error::SqlState::CARDINALITY_VIOLATION) {
                // Two rows the checks above told apart, that the database's lower() does not.
                ApiError::Validation(vec![FieldError::new(
                    "mappings",
                    "duplicate",
                    "two rows map the same identifier (compared without regard to case)",
                )])
            } else {
                e.into()
            }
        })?;
    let (mut created, mut updated) = (Vec::new(), Vec::new());
    for r in &applied {
        let m = MappingRef {
            id: r.get(0),
            kind: r.get(1),
            channel: r.get(2),
            identifier: r.get(3),
            variant_id: r.get(4),
            product_id: r.get(5),
        };
        if r.get::<_, bool>(6) { created.push(m) } else { updated.push(m) }
    }
    let report = BulkReport {
        mode: if partial { "partial" } else { "all_or_nothing" }.into(),
        rows: total,
        created: created.len(),
        updated: updated.len(),
        unchanged: valid.len() - created.len() - updated.len(),
        failed: failed_rows,
        errors: row_errors.into_iter().take(MAX_LISTED_ERRORS).collect(),
    };
    let mut envelopes = record_created(&tx, &state, principal.tenant, created).await?;
    envelopes
        .extend(record_chunked(&tx, &state, principal.tenant, updated.clone(), SkuMappingUpdated).await?);
    let repointed: Vec<serde_json::Value> = updated
        .iter()
        .map(|m| {
            serde_json::json!({ "id": m.id, "kind": m.kind, "channel": m.channel, "identifier": m.identifier,
                                "variant_id": m.variant_id, "product_before": previous.get(&m.id), "product_after": m.product_id })
        })
        .collect();
    let summary = serde_json::json!({
        "format": if csv { "csv" } else { "json" }, "mode": report.mode, "rows": report.rows,
        "created": report.created, "updated": report.updated, "unchanged": report.unchanged, "failed": report.failed,
        "repointed": repointed,
    });
    audit::record(
        &tx,
        &principal,
        Entry::new("sku_mapping.bulk_imported", "sku_mapping", "*").after(summary),
    )
    .await?;
    tx.commit().await?;
    events::publish_committed(&state, &envelopes).await?;
    Ok(Json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFilter {
    pub kind: Option<String>,
    pub channel: Option<String>,
}

/// Every SKU mapping of the acting tenant as CSV, in the format the bulk import reads.
#[utoipa::path(get, path = "/api/v1/mappings/skus/export", operation_id = "sku_mappings_export", tag = "sku mappings",
    params(ExportFilter), security(("bearer" = [])),
    responses((status = 200, description = "CSV with a header row", content_type = "text/csv", body = String)))]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(f): ApiQuery<ExportFilter>,
) -> Result<Response, ApiError> {
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE m.tenant_id = $1 AND ($2::text IS NULL OR m.kind = $2)
                   AND ($3::text IS NULL OR m.channel = $3)
                 ORDER BY m.kind, m.identifier_key, m.channel_key, m.variant_key"
            ),
            &[&principal.tenant.as_uuid(), &f.kind, &f.channel],
        )
        .await?;
    tx.commit().await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::internal(e);
    w.write_record(CSV_COLUMNS).map_err(csv_error)?;
    for m in rows.iter().map(mapping) {
        let (channel, variant, note) =
            (m.channel.unwrap_or_default(), m.variant_id.unwrap_or_default(), m.note.unwrap_or_default());
        w.write_record([&m.kind, &m.identifier, &channel, &variant, &m.platform_sku, &note])
            .map_err(csv_error)?;
    }
    let body = w.into_inner().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"sku-mappings.csv\""),
        ],
        body,
    )
        .into_response())
}
