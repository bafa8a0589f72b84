//! SKU mappings as rows and as inputs, the rules that check them, and the bulk import's pure
//! steps: reading CSV, checking rows, catching repeats, matching platform SKUs, the report.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Error;
use crate::catalog::events::MappingRef;
use crate::platform::error::FieldError;
use crate::platform::validate::{code_name, identifier};

pub const KINDS: &[&str] = &["sku", "alias", "channel_product"];
/// Items one resolve request may carry.
pub const MAX_RESOLVE: usize = 1000;
/// Rows one bulk import may carry.
pub const MAX_BULK_ROWS: usize = 50_000;
/// Body limit of the bulk import route (the Lambda payload limit is 6 MB).
pub const BULK_BODY_LIMIT: usize = 6 * 1024 * 1024;
/// Row errors listed in one answer (the count covers them all).
pub const MAX_LISTED_ERRORS: usize = 1000;
/// CSV columns, in the order export writes them (import accepts them in any order).
pub const CSV_COLUMNS: &[&str] = &["kind", "identifier", "channel", "variant_id", "platform_sku", "note"];
/// Longest mapping note.
const MAX_NOTE: usize = 500;

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

impl Mapping {
    /// The mapping as an event names it.
    pub fn reference(&self) -> MappingRef {
        MappingRef {
            id: self.id,
            kind: self.kind.clone(),
            channel: self.channel.clone(),
            identifier: self.identifier.clone(),
            variant_id: self.variant_id.clone(),
            product_id: self.product_id,
        }
    }

    /// The mapping as an export row, in [`CSV_COLUMNS`] order.
    pub fn csv_record(&self) -> [String; 6] {
        [
            self.kind.clone(),
            self.identifier.clone(),
            self.channel.clone().unwrap_or_default(),
            self.variant_id.clone().unwrap_or_default(),
            self.platform_sku.clone(),
            self.note.clone().unwrap_or_default(),
        ]
    }
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

/// What makes a mapping unique (SKUs and aliases share a namespace; case does not count).
pub type MappingKey = (bool, String, String, String);

/// A checked mapping, before its platform SKU is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub kind: String,
    pub channel: Option<String>,
    pub identifier: String,
    pub variant_id: Option<String>,
    pub platform_sku: String,
    pub note: Option<String>,
}

impl Checked {
    pub fn key(&self) -> MappingKey {
        (
            self.kind == "channel_product",
            self.identifier.to_lowercase(),
            self.channel.clone().unwrap_or_default(),
            self.variant_id.clone().unwrap_or_default(),
        )
    }

    /// The 409 for a mapping whose identifier is already mapped.
    pub fn exists_error(&self) -> Error {
        let what = match (&self.channel, &self.variant_id) {
            (Some(ch), Some(v)) => {
                format!("{} {:?} (variant {v:?}) on channel {ch}", self.kind, self.identifier)
            }
            (Some(ch), None) => format!("{} {:?} on channel {ch}", self.kind, self.identifier),
            _ => format!("{} {:?}", self.kind, self.identifier),
        };
        Error::Conflict { code: "mapping_exists", detail: format!("{what} is already mapped") }
    }
}

/// A checked mapping with the product its platform SKU names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub product_id: Uuid,
    pub mapping: Checked,
}

pub fn empty_to_none(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks one input; field names are prefixed with `at` (`""`, or `rows[7].` for imports).
pub fn check_input(input: &MappingInput, at: &str, errors: &mut Vec<FieldError>) -> Option<Checked> {
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
    if channel.as_deref().is_some_and(|c| !code_name(c)) {
        errors.push(FieldError::new(format!("{at}channel"), "invalid", "1-63 of a-z, 0-9, '_' and '-'"));
    }
    let variant_id = empty_to_none(&input.variant_id).map(str::to_owned);
    check_scope(&kind, channel.as_deref(), variant_id.as_deref(), at, errors);
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
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
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

/// A channel product needs its channel; only a channel product has a variant id.
fn check_scope(
    kind: &str,
    channel: Option<&str>,
    variant_id: Option<&str>,
    at: &str,
    errors: &mut Vec<FieldError>,
) {
    if kind == "channel_product" && channel.is_none() {
        errors.push(FieldError::new(
            format!("{at}channel"),
            "required",
            "a channel product id means something only within its channel",
        ));
    }
    if let Some(v) = variant_id {
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
}

/// A note as a patch gives it: `None` keeps it, `Some(None)` (or blank) clears it.
pub fn patch_note(note: Option<Option<String>>) -> Result<Option<Option<String>>, Error> {
    let note = note.map(|n| n.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
    if note.as_ref().and_then(|n| n.as_ref()).is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(Error::field("note", "too_long", "at most 500 characters"));
    }
    Ok(note)
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

/// A resolution's status: no product is `unknown`, an active approved one `resolved`, any other
/// `unavailable`.
pub fn resolution_status(product: Option<Uuid>, active: Option<bool>) -> &'static str {
    match (product, active) {
        (None, _) => "unknown",
        (Some(_), Some(true)) => "resolved",
        (Some(_), _) => "unavailable",
    }
}

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

/// Lookups as the resolution query takes them: one column per part, trimmed, the channel
/// lowercased; what no mapping can hold (empty, control characters) is `None` and matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupColumns {
    pub n: Vec<i32>,
    pub skus: Vec<Option<String>>,
    pub channels: Vec<Option<String>>,
    pub product_ids: Vec<Option<String>>,
    pub variants: Vec<Option<String>>,
}

impl LookupColumns {
    pub fn of(items: &[Lookup]) -> Self {
        let norm = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
                .map(str::to_owned)
        };
        Self {
            n: (0..items.len() as i32).collect(),
            skus: items.iter().map(|i| norm(&i.sku)).collect(),
            channels: items.iter().map(|i| norm(&i.channel).map(|c| c.to_lowercase())).collect(),
            product_ids: items.iter().map(|i| norm(&i.product_id)).collect(),
            variants: items.iter().map(|i| norm(&i.variant_id)).collect(),
        }
    }
}

/// The problems of a resolve request: the item count, and each item's something to look up.
pub fn check_lookups(items: &[Lookup]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if items.is_empty() || items.len() > MAX_RESOLVE {
        errors.push(FieldError::new("items", "invalid", format!("1 to {MAX_RESOLVE} items")));
    }
    for (i, item) in items.iter().enumerate() {
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
    errors
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

// ---------------------------------------------------------------------------------------------
// Bulk import

/// All or nothing (one bad row and nothing is applied), or the valid rows applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    AllOrNothing,
    Partial,
}

impl BulkMode {
    /// The `mode` query parameter (default all or nothing).
    pub fn parse(raw: Option<&str>) -> Result<Self, Error> {
        match raw {
            None | Some("all_or_nothing") => Ok(Self::AllOrNothing),
            Some("partial") => Ok(Self::Partial),
            Some(_) => Err(Error::field("query:mode", "invalid", "all_or_nothing or partial")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllOrNothing => "all_or_nothing",
            Self::Partial => "partial",
        }
    }
}

/// How the rows came.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BulkFormat {
    #[default]
    Json,
    Csv,
}

impl BulkFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// The row, from 1 (CSV: the header is not counted; `line` is the file's line).
    pub row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub field: String,
    pub code: String,
    pub message: String,
}

impl RowError {
    fn new(row: usize, line: Option<u64>, field: &str, code: &str, message: String) -> Self {
        Self { row, line, field: field.into(), code: code.into(), message }
    }

    /// The row error as a field error of the whole request (all-or-nothing refusals).
    pub fn field_error(&self) -> FieldError {
        let at = self.line.map(|l| format!(" (line {l})")).unwrap_or_default();
        FieldError::new(
            format!("rows[{}].{}", self.row, self.field),
            self.code.clone(),
            format!("row {}{at}: {}", self.row, self.message),
        )
    }
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

/// An import row with where it came from.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub row: usize,
    pub line: Option<u64>,
    pub input: MappingInput,
}

/// The rows of an import as read, and the rows that could not be read.
#[derive(Debug, Default)]
pub struct Import {
    pub format: BulkFormat,
    pub rows: Vec<ImportRow>,
    pub errors: Vec<RowError>,
}

impl Import {
    /// JSON rows, numbered from 1.
    pub fn json(inputs: Vec<MappingInput>) -> Self {
        let rows =
            inputs.into_iter().enumerate().map(|(i, input)| ImportRow { row: i + 1, line: None, input });
        Self { format: BulkFormat::Json, rows: rows.collect(), errors: Vec::new() }
    }

    /// CSV with a header row naming [`CSV_COLUMNS`] (any order; identifier and platform_sku
    /// required). A row that cannot be read is reported, not fatal; a bad header is.
    pub fn csv(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| Error::Malformed(format!("CSV header: {e}")))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect::<Vec<_>>();
        super::check(check_headers(&headers))?;
        let mut import = Self { format: BulkFormat::Csv, ..Self::default() };
        for (i, record) in reader.records().enumerate() {
            let row = i + 1;
            match record {
                Ok(rec) => {
                    let line = rec.position().map(|p| p.line());
                    import.rows.push(ImportRow { row, line, input: csv_input(&headers, &rec) });
                }
                Err(e) => import.errors.push(RowError::new(
                    row,
                    e.position().map(|p| p.line()),
                    "row",
                    "malformed",
                    e.to_string(),
                )),
            }
        }
        Ok(import)
    }

    /// Rows read or not: what the report counts.
    pub fn total(&self) -> usize {
        self.rows.len() + self.errors.len()
    }

    /// 1 to [`MAX_BULK_ROWS`] rows.
    pub fn check_size(&self) -> Result<(), Error> {
        let total = self.total();
        if total == 0 || total > MAX_BULK_ROWS {
            return Err(Error::field("mappings", "invalid", format!("1 to {MAX_BULK_ROWS} rows")));
        }
        Ok(())
    }
}

fn check_headers(headers: &[String]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if !CSV_COLUMNS.contains(&h.as_str()) {
            errors.push(FieldError::new(
                format!("header[{i}]"),
                "unknown_column",
                format!("{h:?} is not one of {}", CSV_COLUMNS.join(", ")),
            ));
        }
    }
    for required in ["identifier", "platform_sku"] {
        if !headers.iter().any(|h| h == required) {
            errors.push(FieldError::new("header", "missing_column", format!("a {required} column")));
        }
    }
    errors
}

fn csv_input(headers: &[String], rec: &csv::StringRecord) -> MappingInput {
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
    input
}

/// A checked import row, with where it came from.
#[derive(Debug, Clone)]
pub struct CheckedRow {
    pub row: usize,
    pub line: Option<u64>,
    pub mapping: Checked,
}

/// Checks every row, and catches a row that repeats an earlier one; refusals go to `errors`.
pub fn check_rows(rows: &[ImportRow], errors: &mut Vec<RowError>) -> Vec<CheckedRow> {
    let mut checked = Vec::with_capacity(rows.len());
    let mut seen: HashMap<MappingKey, usize> = HashMap::new();
    for r in rows {
        let mut field_errors = Vec::new();
        match check_input(&r.input, "", &mut field_errors) {
            Some(c) => match seen.get(&c.key()) {
                Some(first) => errors.push(RowError::new(
                    r.row,
                    r.line,
                    "identifier",
                    "duplicate",
                    format!("row {first} maps the same identifier"),
                )),
                None => {
                    seen.insert(c.key(), r.row);
                    checked.push(CheckedRow { row: r.row, line: r.line, mapping: c });
                }
            },
            None => errors.extend(field_errors.into_iter().map(|e| RowError {
                row: r.row,
                line: r.line,
                field: e.field,
                code: e.code,
                message: e.message,
            })),
        }
    }
    checked
}

/// The platform SKUs the rows name, lowercased, each once.
pub fn wanted_skus(rows: &[CheckedRow]) -> Vec<String> {
    rows.iter().map(|r| r.mapping.platform_sku.to_lowercase()).collect::<HashSet<_>>().into_iter().collect()
}

/// Each row with its product (`products`: lowercased platform SKU → product the tenant may sell);
/// a row naming none is refused `unknown_product`.
pub fn match_products(
    rows: Vec<CheckedRow>,
    products: &HashMap<String, Uuid>,
    errors: &mut Vec<RowError>,
) -> Vec<Valid> {
    let mut valid = Vec::with_capacity(rows.len());
    for r in rows {
        match products.get(&r.mapping.platform_sku.to_lowercase()) {
            Some(id) => valid.push(Valid { product_id: *id, mapping: r.mapping }),
            None => errors.push(RowError::new(
                r.row,
                r.line,
                "platform_sku",
                "unknown_product",
                format!("no platform product {:?} is available to this tenant", r.mapping.platform_sku),
            )),
        }
    }
    valid
}

/// Sorts the row errors; in all-or-nothing mode any of them refuses the import (the first
/// [`MAX_LISTED_ERRORS`] named).
pub fn settle_errors(mode: BulkMode, errors: &mut [RowError]) -> Result<(), Error> {
    errors.sort_by_key(|e| e.row);
    if !errors.is_empty() && mode == BulkMode::AllOrNothing {
        return Err(Error::Invalid(
            errors.iter().take(MAX_LISTED_ERRORS).map(RowError::field_error).collect(),
        ));
    }
    Ok(())
}

/// What one import applied: the mappings it created, those it re-pointed (with the product each
/// pointed at before), and how many valid rows changed nothing.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub created: Vec<MappingRef>,
    pub updated: Vec<MappingRef>,
    pub unchanged: usize,
    pub previous: HashMap<Uuid, Uuid>,
}

impl BulkReport {
    pub fn of(mode: BulkMode, rows: usize, applied: &Applied, errors: Vec<RowError>) -> Self {
        let failed = errors.iter().map(|e| e.row).collect::<HashSet<_>>().len();
        Self {
            mode: mode.as_str().into(),
            rows,
            created: applied.created.len(),
            updated: applied.updated.len(),
            unchanged: applied.unchanged,
            failed,
            errors: errors.into_iter().take(MAX_LISTED_ERRORS).collect(),
        }
    }

    /// The audit entry's summary: the counts, and every re-pointed mapping before and after.
    pub fn summary(&self, format: BulkFormat, applied: &Applied) -> serde_json::Value {
        let repointed: Vec<serde_json::Value> = applied
            .updated
            .iter()
            .map(|m| {
                serde_json::json!({ "id": m.id, "kind": m.kind, "channel": m.channel, "identifier": m.identifier,
                                    "variant_id": m.variant_id, "product_before": applied.previous.get(&m.id),
                                    "product_after": m.product_id })
            })
            .collect();
        serde_json::json!({
            "format": format.as_str(), "mode": self.mode, "rows": self.rows,
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed,
            "repointed": repointed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, identifier: &str, channel: &str, platform_sku: &str) -> MappingInput {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        MappingInput {
            kind: some(kind),
            identifier: some(identifier),
            channel: some(channel),
            platform_sku: some(platform_sku),
            ..MappingInput::default()
        }
    }

    #[test]
    fn a_channel_product_needs_its_channel_and_only_it_has_a_variant() {
        let mut errors = Vec::new();
        assert!(check_input(&input("channel_product", "123", "", "P-1"), "", &mut errors).is_none());
        assert_eq!(errors[0].field, "channel");
        let mut errors = Vec::new();
        let with_variant = MappingInput { variant_id: Some("7".into()), ..input("sku", "A", "", "P-1") };
        assert!(check_input(&with_variant, "rows[1].", &mut errors).is_none());
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code.as_str()),
            ("rows[1].variant_id", "not_allowed")
        );
    }

    #[test]
    fn a_valid_input_defaults_to_a_sku_and_lowercases_the_channel() {
        let mut errors = Vec::new();
        let c = check_input(&input("", " A-1 ", "Shop", "P-1"), "", &mut errors);
        assert!(errors.is_empty());
        let c = c.unwrap_or_else(|| unreachable!());
        assert_eq!(
            (c.kind.as_str(), c.identifier.as_str(), c.channel.as_deref()),
            ("sku", "A-1", Some("shop"))
        );
    }

    #[test]
    fn csv_reads_columns_in_any_order_and_reports_bad_rows() {
        let import = Import::csv(b"platform_sku,identifier\nP-1,a\nP-2\nP-3,c\n").unwrap_or_default();
        assert_eq!(import.rows.len(), 2);
        assert_eq!(import.rows[1].row, 3);
        assert_eq!(import.rows[0].input.identifier.as_deref(), Some("a"));
        assert_eq!((import.errors[0].row, import.errors[0].code.as_str()), (2, "malformed"));
        assert_eq!(import.total(), 3);
    }

    #[test]
    fn csv_refuses_unknown_and_missing_columns() {
        let Err(Error::Invalid(errors)) = Import::csv(b"identifier,colour\na,red\n") else {
            unreachable!("a bad header is refused")
        };
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["unknown_column", "missing_column"]);
    }

    #[test]
    fn a_repeated_identifier_is_refused_without_regard_to_case() {
        let rows: Vec<ImportRow> = [("a", "P-1"), ("A", "P-2"), ("b", "P-1")]
            .iter()
            .enumerate()
            .map(|(i, (id, p))| ImportRow { row: i + 1, line: None, input: input("", id, "", p) })
            .collect();
        let mut errors = Vec::new();
        let checked = check_rows(&rows, &mut errors);
        assert_eq!(checked.len(), 2);
        assert_eq!((errors[0].row, errors[0].code.as_str()), (2, "duplicate"));
        assert_eq!(wanted_skus(&checked).len(), 1);
        let products = HashMap::new();
        let valid = match_products(checked, &products, &mut errors);
        assert!(valid.is_empty());
        assert!(settle_errors(BulkMode::Partial, &mut errors).is_ok());
        assert!(
            matches!(settle_errors(BulkMode::AllOrNothing, &mut errors), Err(Error::Invalid(e)) if e.len() == 3)
        );
    }

    #[test]
    fn modes_and_statuses() {
        assert_eq!(BulkMode::parse(None).ok(), Some(BulkMode::AllOrNothing));
        assert_eq!(BulkMode::parse(Some("partial")).ok(), Some(BulkMode::Partial));
        assert!(BulkMode::parse(Some("some")).is_err());
        assert_eq!(resolution_status(None, Some(true)), "unknown");
        assert_eq!(resolution_status(Some(Uuid::nil()), Some(true)), "resolved");
        assert_eq!(resolution_status(Some(Uuid::nil()), None), "unavailable");
    }
}
