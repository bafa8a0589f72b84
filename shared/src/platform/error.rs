//! The error model: every API error is an RFC 9457 problem+json document with a stable machine
//! `code`, a human `title`, field-level `errors[]` for validation, and the request id. A 500 says
//! nothing about its cause; the cause goes to the log, on a line that carries the same request id.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::http::current_request_id;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Where the problem is, as a path into the body: `items[0].sku`; empty for the body itself.
    pub field: String,
    /// A stable machine code: `required`, `invalid`, `too_long`, ...
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// An RFC 9457 problem details document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:problem:gateway:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The stable machine-readable code. Clients branch on this, never on `title` or `detail`.
    pub code: String,
    /// The id of the request; the same id is on every log line the request wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Problem-specific members (for example `checks` on a failed readiness probe).
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// Boxed cause of an internal error; never shown to a client.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every way an API call can fail. Mapped to a status and code exhaustively in [`ApiError::parts`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("malformed request body: {0}")]
    MalformedBody(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("authentication required: {0}")]
    Unauthenticated(String),
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    #[error("the second-factor code is wrong")]
    InvalidSecondFactor,
    #[error("too many failed attempts; try again in {retry_after_seconds} s")]
    TooManyAttempts { retry_after_seconds: u64 },
    #[error("the token is invalid, used or expired")]
    InvalidToken,
    #[error("rate limit of {limit} per {window_seconds} s reached; retry in {retry_after_seconds} s")]
    RateLimited { limit: u32, window_seconds: u64, retry_after_seconds: u64 },
    #[error("the rate limiter is unavailable; try again shortly")]
    RateLimiterUnavailable,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("no route for {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("method {method} not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the payment was declined: {reason}")]
    PaymentDeclined { payment_id: String, decline_code: String, reason: String },
    #[error("dependencies unavailable: {}", .failed.join(", "))]
    DependenciesUnavailable { failed: Vec<String>, checks: serde_json::Value },
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl ApiError {
    pub fn internal<E: Into<Cause>>(cause: E) -> Self {
        Self::Internal(cause.into())
    }

    /// Status, stable code and title of each variant.
    pub fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::Validation(_) => {
                (S::UNPROCESSABLE_ENTITY, "validation_failed", "Request validation failed")
            }
            Self::MalformedBody(_) => (S::BAD_REQUEST, "malformed_body", "Malformed request body"),
            Self::UnsupportedMediaType(_) => {
                (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Unsupported media type")
            }
            Self::PayloadTooLarge { .. } => {
                (S::PAYLOAD_TOO_LARGE, "payload_too_large", "Request body too large")
            }
            Self::Unauthenticated(_) => (S::UNAUTHORIZED, "unauthenticated", "Authentication required"),
            Self::InvalidCredentials => (S::UNAUTHORIZED, "invalid_credentials", "Invalid credentials"),
            Self::InvalidSecondFactor => {
                (S::UNAUTHORIZED, "invalid_second_factor", "Invalid second-factor code")
            }
            Self::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, "too_many_attempts", "Too many attempts"),
            Self::InvalidToken => (S::BAD_REQUEST, "invalid_token", "Invalid token"),
            Self::RateLimited { .. } => (S::TOO_MANY_REQUESTS, "rate_limited", "Too many requests"),
            Self::RateLimiterUnavailable => {
                (S::SERVICE_UNAVAILABLE, "rate_limiter_unavailable", "Rate limiter unavailable")
            }
            Self::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Forbidden"),
            Self::NotFound(_) => (S::NOT_FOUND, "not_found", "Resource not found"),
            Self::RouteNotFound { .. } => (S::NOT_FOUND, "route_not_found", "No such route"),
            Self::MethodNotAllowed { .. } => {
                (S::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed")
            }
            Self::Conflict { code, .. } => (S::CONFLICT, code, "Conflict"),
            Self::PaymentDeclined { .. } => (S::PAYMENT_REQUIRED, "payment_declined", "Payment declined"),
            Self::DependenciesUnavailable { .. } => {
                (S::SERVICE_UNAVAILABLE, "dependency_unavailable", "A dependency is unavailable")
            }
            Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error"),
        }
    }

    /// The problem document a client sees. Internal errors carry no detail.
    pub fn to_problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        let mut extensions = serde_json::Map::new();
        let (detail, errors) = match self {
            Self::Validation(errors) => (Some("One or more fields are invalid.".to_owned()), errors.clone()),
            Self::Internal(_) => (None, Vec::new()),
            Self::DependenciesUnavailable { checks, .. } => {
                extensions.insert("checks".into(), checks.clone());
                (Some(self.to_string()), Vec::new())
            }
            Self::PayloadTooLarge { limit } => {
                extensions.insert("limit_bytes".into(), (*limit).into());
                (Some(self.to_string()), Vec::new())
            }
            Self::RateLimited { retry_after_seconds, limit, .. } => {
                extensions.insert("retry_after_seconds".into(), (*retry_after_seconds).into());
                extensions.insert("limit".into(), (*limit).into());
                (Some(self.to_string()), Vec::new())
            }
            Self::PaymentDeclined { payment_id, decline_code, .. } => {
                extensions.insert("payment_id".into(), payment_id.clone().into());
                extensions.insert("decline_code".into(), decline_code.clone().into());
                (Some(self.to_string()), Vec::new())
            }
            Self::TooManyAttempts { retry_after_seconds } => {
                extensions.insert("retry_after_seconds".into(), (*retry_after_seconds).into());
                (Some(self.to_string()), Vec::new())
            }
            Self::MalformedBody(_)
            | Self::UnsupportedMediaType(_)
            | Self::Unauthenticated(_)
            | Self::InvalidCredentials
            | Self::InvalidSecondFactor
            | Self::InvalidToken
            | Self::RateLimiterUnavailable
            | Self::Forbidden(_)
            | Self::NotFound(_)
            | Self::RouteNotFound { .. }
            | Self::MethodNotAllowed { .. }
            | Self::Conflict { .. } => (Some(self.to_string()), Vec::new()),
        };
        Problem {
            problem_type: format!("urn:problem:gateway:{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            request_id: current_request_id(),
            errors,
            extensions,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.to_problem();
        match &self {
            Self::Internal(cause) => {
                let mut chain = cause.to_string();
                let mut source = cause.source();
                while let Some(s) = source {
                    chain.push_str(": ");
                    chain.push_str(&s.to_string());
                    source = s.source();
                }
                tracing::error!(error = %chain, "internal error");
            }
            Self::DependenciesUnavailable { .. } => tracing::warn!(error = %self, "request failed"),
            _ => tracing::info!(code = problem.code, "request refused"),
        }
        let mut response = problem_response(&problem);
        if let Self::TooManyAttempts { retry_after_seconds } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
        if let Self::RateLimited { limit, window_seconds, retry_after_seconds } = &self {
            let h = response.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            h.insert("ratelimit-limit", HeaderValue::from(*limit));
            h.insert("ratelimit-remaining", HeaderValue::from(0));
            h.insert("ratelimit-reset", HeaderValue::from(*retry_after_seconds));
            if let Ok(v) = HeaderValue::from_str(&format!("{limit};w={window_seconds}")) {
                h.insert("ratelimit-policy", v);
            }
        }
        if let Self::RateLimiterUnavailable = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(5));
        }
        if let Self::Unauthenticated(_) = &self {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Serialises a problem with its status and media type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| br#"{"code":"internal_error"}"#.to_vec());
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
    response
}

impl From<super::config::ConfigError> for ApiError {
    fn from(e: super::config::ConfigError) -> Self {
        Self::internal(e)
    }
}

impl From<super::events::EventError> for ApiError {
    fn from(e: super::events::EventError) -> Self {
        Self::internal(e)
    }
}

/// A database error inside a handler is a 500: the cause goes to the log, never to the client —
/// except text the database cannot store (a NUL character, valid in JSON and query strings), which
/// is the request's fault: 422.
impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        match e.code() {
            Some(c)
                if *c == SqlState::CHARACTER_NOT_IN_REPERTOIRE
                    || *c == SqlState::UNTRANSLATABLE_CHARACTER =>
            {
                Self::Validation(vec![FieldError::new(
                    "request",
                    "invalid_character",
                    "text may not contain NUL (\\u0000) characters",
                )])
            }
            _ => Self::internal(e),
        }
    }
}

impl From<super::db::DbError> for ApiError {
    fn from(e: super::db::DbError) -> Self {
        Self::internal(e)
    }
}

/// The unique constraint (or unique index) a statement broke, if that is why it failed: the caller
/// answers 409 naming the clash instead of a 500.
pub fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    e.as_db_error()
        .filter(|d| *d.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
        .map(|d| d.constraint().unwrap_or(""))
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`: clear it) or a value.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] super::config::ConfigError),
    #[error(transparent)]
    Db(#[from] super::db::DbError),
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Db(#[from] super::db::DbError),
    #[error(transparent)]
    Event(#[from] super::events::EventError),
    #[error("{0}")]
    Other(String),
}

impl From<super::config::ConfigError> for TaskError {
    fn from(e: super::config::ConfigError) -> Self {
        Self::Startup(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = ApiError::internal(std::io::Error::other("password=hunter2 at db.internal"));
        let json = serde_json::to_string(&err.to_problem()).unwrap_or_default();
        assert!(json.contains(r#""code":"internal_error""#), "{json}");
        assert!(json.contains(r#""status":500"#), "{json}");
        assert!(!json.contains("hunter2") && !json.contains("db.internal"), "{json}");
    }

    #[test]
    fn validation_errors_list_fields() {
        let err = ApiError::Validation(vec![FieldError::new("items[0].sku", "required", "missing")]);
        let p = err.to_problem();
        assert_eq!((p.status, p.code.as_str()), (422, "validation_failed"));
        assert_eq!(p.errors[0].field, "items[0].sku");
        assert_eq!(p.problem_type, "urn:problem:gateway:validation_failed");
    }
}
