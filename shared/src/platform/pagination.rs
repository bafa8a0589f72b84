//! Cursor pagination for every list route: `?limit=` (1..=200, default 50) and `?cursor=` (the
//! `next_cursor` of the previous page). Rows are ordered by their UUID v7 id, newest first, so a
//! cursor is the last id seen and pages stay stable while rows are added.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, FieldError};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The limit and the id to continue after, or a 422 naming the bad parameter.
    pub fn parse(&self) -> Result<(i64, Option<Uuid>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        let mut errors = Vec::new();
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new("query:limit", "out_of_range", format!("between 1 and {MAX_LIMIT}")));
        }
        let cursor = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => match Uuid::parse_str(c) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new(
                        "query:cursor",
                        "invalid",
                        "not a cursor from a previous page",
                    ));
                    None
                }
            },
        };
        if errors.is_empty() { Ok((limit, cursor)) } else { Err(ApiError::Validation(errors)) }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from up to `limit + 1` rows (the extra row only says there is a next page).
    pub fn of(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next_cursor = if more { rows.last().map(|r| id(r).to_string()) } else { None };
        Self { items: rows, next_cursor }
    }
}

/// A `LIKE`/`ILIKE` pattern matching text that contains `q` literally (`%`, `_` and `\\` escaped).
pub fn contains_pattern(q: &str) -> String {
    format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}
