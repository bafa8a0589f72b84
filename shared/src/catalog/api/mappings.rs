//! SKU mapping routes: list, get, create, update, delete, resolve, suggestions, bulk import and
//! export.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::writer;
use crate::catalog::model::{
    BulkMode, BulkReport, CSV_COLUMNS, Error, Import, Lookup, Mapping, MappingInput, Resolution, Suggestion,
    check, check_input, check_lookups, patch_note,
};
use crate::catalog::service::mappings as service;
use crate::catalog::store::mappings::{self as store, Filter};
use crate::identity::Principal;
use crate::platform::audit::{self, Entry};
use crate::platform::error::{ApiError, FieldError, nullable};
use crate::platform::events;
use crate::platform::http::{ApiJson, ApiQuery, parse_json, path_id, read_body};
use crate::platform::pagination::{Page, PageQuery, contains_pattern};
use crate::platform::state::AppState;
use crate::platform::validate::identifier;

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
    let filter = Filter {
        kind: f.kind.as_deref(),
        channel: f.channel.as_deref(),
        like: f.q.as_deref().map(|q| contains_pattern(&q.to_lowercase())),
        platform_sku: f.platform_sku.as_deref(),
    };
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let rows = store::list(&tx, principal.tenant, &filter, cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(Page::of(rows, limit, |m: &Mapping| m.id)))
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
    let found = store::load(&tx, id, false).await?;
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
    let (made, envelopes) = service::create(&tx, &state, writer(&principal), &c).await?;
    audit::record(&tx, &principal, Entry::new("sku_mapping.created", "sku_mapping", made.id).after(&made))
        .await?;
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
    let note = patch_note(req.note)?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (before, after, envelopes) =
        service::update(&tx, &state, writer(&principal), id, req.platform_sku.as_deref(), note).await?;
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
    let before = service::delete(&tx, id).await?;
    audit::record(&tx, &principal, Entry::new("sku_mapping.deleted", "sku_mapping", id).before(&before))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
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
    check(check_lookups(&req.items))?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let results = service::resolve(&tx, principal.tenant, &req.items).await?;
    tx.commit().await?;
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    let (resolved, unknown, unavailable) = (count("resolved"), count("unknown"), count("unavailable"));
    Ok(Json(ResolveResponse { results, resolved, unknown, unavailable }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionQuery {
    /// The unknown identifier.
    pub sku: String,
    /// 1 to 20 (default 5).
    pub limit: Option<i64>,
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
    let found = store::suggestions(&tx, principal.tenant, &sku, limit).await?;
    tx.commit().await?;
    Ok(Json(found))
}

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

/// Reads the import's rows from a JSON or CSV body (the content type says which).
async fn read_import(headers: &HeaderMap, request: Request) -> Result<Import, ApiError> {
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
    if csv {
        Ok(Import::csv(&body)?)
    } else {
        let parsed: BulkJson = parse_json(&body)?;
        Ok(Import::json(parsed.mappings))
    }
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
    let mode = BulkMode::parse(q.mode.as_deref())?;
    let import = read_import(&headers, request).await?;
    import.check_size()?;
    let format = import.format;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let (report, applied, envelopes) = service::import(&tx, &state, writer(&principal), mode, import).await?;
    let summary = report.summary(format, &applied);
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
    let rows = store::export(&tx, principal.tenant, f.kind.as_deref(), f.channel.as_deref()).await?;
    tx.commit().await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| Error::Internal(e.to_string());
    w.write_record(CSV_COLUMNS).map_err(csv_error)?;
    for m in &rows {
        w.write_record(m.csv_record()).map_err(csv_error)?;
    }
    let body = w.into_inner().map_err(|e| Error::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"sku-mappings.csv\""),
        ],
        body,
    )
        .into_response())
}
