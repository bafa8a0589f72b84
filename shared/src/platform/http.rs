//! HTTP plumbing shared by every API function: the request id and its log span, body limits,
//! problem+json for unknown routes and methods, and a JSON extractor whose every failure is a
//! problem+json response.
//!
//! A function's router holds only its own route; [`finish`] wraps it (or, in the local runner, all
//! routes merged) with the same layers, so behaviour is identical on Lambda and locally.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use http::{HeaderName, HeaderValue, Method, Uri, header};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::error::{ApiError, FieldError};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request id the platform assigned, put in request extensions by the Lambda adapter (API
/// Gateway's id) before routing. Without it, a sane client `x-request-id` or a fresh UUID is used.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The caller's IP address as the platform saw it (API Gateway's `sourceIp`; the local runner's
/// peer address). Never taken from a client header.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn acceptable_client_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then(|| s.to_owned())
}

async fn request_context(limit: usize, mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(BodyLimit(limit));
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .or_else(|| req.headers().get(REQUEST_ID_HEADER).and_then(acceptable_client_id))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = Instant::now();
    // A panicking handler still answers problem+json, and the instance keeps serving.
    let guarded = async {
        AssertUnwindSafe(next.run(req))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| ApiError::internal("handler panicked").into_response())
    };
    let mut response = REQUEST_ID.scope(id.clone(), guarded).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request served"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

async fn route_not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::RouteNotFound { method: method.to_string(), path: uri.path().to_owned() }
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_owned() }
}

/// Wraps routes with the platform's layers: problem+json fallbacks for unknown routes and methods,
/// the body size limit, and the request id span. Call it once, on the complete router.
pub fn finish(routes: Router, body_limit_bytes: usize) -> Router {
    routes
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit_bytes))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            request_context(body_limit_bytes, req, next)
        }))
}

/// A JSON body. Unlike `axum::Json`, every way it can fail is problem+json: 415 for a missing or
/// foreign content type, 413 over the body limit, 400 for broken JSON, 422 with the field path for
/// JSON of the wrong shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

fn is_json_content_type(req: &Request) -> bool {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(&req) {
            let got = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_owned();
            return Err(ApiError::UnsupportedMediaType(format!("expected application/json, got {got}")));
        }
        parse_json(&read_body(req, state).await?).map(ApiJson)
    }
}

/// The whole request body, within the route's size limit (413 problem+json past it).
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let limit = body_limit_of(&req);
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::MalformedBody("the request body could not be read".into())
        }
    })
}

/// A query string. Unlike `axum::extract::Query`, a malformed one (`?limit=abc`) is a 422
/// problem+json naming what was wrong, not a plain-text 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri).map(|q| ApiQuery(q.0)).map_err(|rejection| {
            let message = rejection.body_text();
            let message = message.strip_prefix("Failed to deserialize query string: ").unwrap_or(&message);
            ApiError::Validation(vec![FieldError::new("query", "invalid", message)])
        })
    }
}

/// The id in a path (`/things/{id}`), or a 422 naming it: `what` is "a user", "a product", ...
pub fn path_id(raw: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| {
        ApiError::Validation(vec![FieldError::new("path:id", "invalid", format!("not {what} id"))])
    })
}

/// Gives one route a body limit of its own (a bulk import), in place of the platform's.
pub fn with_body_limit<S: Clone + Send + Sync + 'static>(
    routes: utoipa_axum::router::OpenApiRouter<S>,
    limit: usize,
) -> utoipa_axum::router::OpenApiRouter<S> {
    routes.layer(DefaultBodyLimit::max(limit)).layer(axum::Extension(BodyLimit(limit)))
}

/// The limit in force for this request, for the 413 message (axum keeps its own copy private).
fn body_limit_of(req: &Request) -> usize {
    req.extensions().get::<BodyLimit>().map(|l| l.0).unwrap_or(DEFAULT_BODY_LIMIT)
}

pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The configured body limit, recorded in request extensions by [`finish`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Why a JSON body could not be read as the type wanted.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Not JSON (syntax, truncation, trailing characters): 400.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON of the wrong shape, with the field path: 422.
    #[error("invalid fields")]
    Fields(Vec<FieldError>),
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(detail) => ApiError::MalformedBody(detail),
            BodyError::Fields(errors) => ApiError::Validation(errors),
        }
    }
}

/// Parses a request body into `T`, classifying failures: syntax → 400, shape → 422 with every
/// field's path; and a card number in any text field (identifiers apart) → 422
/// `card_number_refused`, the value never echoed — card numbers never enter the system.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = read_value(bytes)?;
    let cards = crate::platform::validate::card_number_fields(&value);
    match (read_value_as::<T>(value), cards.is_empty()) {
        (Ok(v), true) => Ok(v),
        (Ok(_), false) => Err(ApiError::Validation(cards)),
        (Err(BodyError::Fields(mut errors)), _) => {
            errors.extend(cards);
            Err(ApiError::Validation(errors))
        }
        (Err(e), _) => Err(e.into()),
    }
}

/// [`parse_json`] for code below the handlers: the failure as a [`BodyError`]. A body of the wrong
/// shape is refused with every problem at once — each unknown, missing and mistyped field with its
/// path — not only the first: after each error the body is repaired (an unknown field dropped, a
/// mistyped one dropped, a missing one filled with a stand-in that is not reported) and read again.
pub fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    read_value_as(read_value(bytes)?)
}

/// A body as JSON, or why it is not JSON.
pub fn read_value(bytes: &[u8]) -> Result<serde_json::Value, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = serde::Deserialize::deserialize(&mut de)
        .map_err(|e: serde_json::Error| BodyError::Malformed(e.to_string()))?;
    // Trailing characters after the value are malformed JSON too.
    de.end().map_err(|e| BodyError::Malformed(e.to_string()))?;
    Ok(v)
}

/// `value` read as `T`, with every shape problem (see [`read_json`]).
fn read_value_as<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, BodyError> {
    let mut repair = Repair::default();
    for _ in 0..MAX_REPAIRS {
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) if repair.errors.is_empty() => return Ok(v),
            Ok(_) => break,
            Err(err) => {
                if !repair.step(&mut value, &err) {
                    break;
                }
            }
        }
    }
    if repair.errors.is_empty() {
        // Past the repairs allowed without naming a field: still a refusal that says so.
        repair.errors.push(FieldError::new(
            "",
            "invalid",
            "the body does not have the shape this route reads",
        ));
    }
    Err(BodyError::Fields(repair.errors))
}

/// How many repairs a body gets before the problems found so far are the answer.
const MAX_REPAIRS: usize = 100;

/// Values tried, in turn, in place of a field that is missing or was dropped as mistyped.
fn stand_ins() -> [serde_json::Value; 6] {
    use serde_json::{Value, json};
    [Value::Null, json!(""), json!(0), json!(false), json!([]), json!({})]
}

type Segments = Vec<serde_path_to_error::Segment>;

/// A path as problems name it: `lines[0].sku`.
fn render(path: &[serde_path_to_error::Segment]) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { .. } => {}
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// The value at `path`, if every segment leads somewhere.
fn at<'v>(
    v: &'v mut serde_json::Value,
    path: &[serde_path_to_error::Segment],
) -> Option<&'v mut serde_json::Value> {
    use serde_path_to_error::Segment;
    let Some((first, rest)) = path.split_first() else { return Some(v) };
    let next = match first {
        Segment::Seq { index } => v.as_array_mut()?.get_mut(*index)?,
        Segment::Map { key } => v.as_object_mut()?.get_mut(key)?,
        Segment::Enum { .. } => v,
        Segment::Unknown => return None,
    };
    at(next, rest)
}

/// Puts `new` at `path` (a field of an object or an element of an array); `false` if it cannot.
fn put(value: &mut serde_json::Value, path: &[serde_path_to_error::Segment], new: serde_json::Value) -> bool {
    use serde_path_to_error::Segment;
    let Some((last, parent)) = path.split_last() else { return false };
    match (last, at(value, parent)) {
        (Segment::Map { key }, Some(serde_json::Value::Object(o))) => {
            o.insert(key.clone(), new);
            true
        }
        (Segment::Seq { index }, Some(serde_json::Value::Array(a))) if *index < a.len() => {
            a[*index] = new;
            true
        }
        _ => false,
    }
}

/// The problems found in a body so far, and the stand-ins put in to read past them.
#[derive(Default)]
struct Repair {
    errors: Vec<FieldError>,
    /// Fields filled with a stand-in (or dropped as mistyped), with the next stand-in to try.
    filled: Vec<(Segments, usize)>,
}

impl Repair {
    /// Fills `path` with its next stand-in; `false` when none is left.
    fn fill(&mut self, value: &mut serde_json::Value, i: usize) -> bool {
        let (path, next) = self.filled[i].clone();
        let Some(candidate) = stand_ins().get(next).cloned() else { return false };
        self.filled[i].1 += 1;
        put(value, &path, candidate)
    }

    /// Records `err` (unless it is about a stand-in) and repairs the body; `false` when it cannot.
    fn step(
        &mut self,
        value: &mut serde_json::Value,
        err: &serde_path_to_error::Error<serde_json::Error>,
    ) -> bool {
        use serde_path_to_error::Segment;
        let segments: Segments = err.path().iter().cloned().collect();
        let path = render(&segments);
        let full = err.inner().to_string();
        // The message may quote the value: a card number in it is masked.
        let message =
            crate::platform::validate::mask_card_numbers(full.split(" at line ").next().unwrap_or(&full));
        let quoted = message.split('`').nth(1).unwrap_or("").to_owned();
        let known = |p: &[Segment]| render(p);
        // About a stand-in: a field missing inside it gets its own (silent) stand-in; otherwise the
        // stand-in does not fit and the next one goes in.
        let under = (0..self.filled.len())
            .filter(|&i| {
                let p = &self.filled[i].0;
                segments.len() >= p.len() && known(&segments[..p.len()]) == known(p)
            })
            .max_by_key(|&i| self.filled[i].0.len());
        if let Some(i) = under {
            if message.starts_with("missing field `") {
                let mut field = segments.clone();
                field.push(Segment::Map { key: quoted });
                self.filled.push((field, 0));
                return self.fill(value, self.filled.len() - 1);
            }
            return self.fill(value, i);
        }
        if message.starts_with("missing field `") {
            let mut field = segments.clone();
            field.push(Segment::Map { key: quoted });
            let i = match self.filled.iter().position(|(p, _)| known(p) == known(&field)) {
                // A field dropped as mistyped is required: it is reported already.
                Some(i) => i,
                None => {
                    self.errors.push(FieldError::new(render(&field), "required", message));
                    self.filled.push((field, 0));
                    self.filled.len() - 1
                }
            };
            return self.fill(value, i);
        }
        if message.starts_with("unknown field `") {
            // The path names the unknown key itself (or, from some deserializers, its object).
            let parent = match segments.split_last() {
                Some((Segment::Map { key }, parent)) if *key == quoted => parent,
                _ => &segments[..],
            };
            self.errors.push(FieldError::new(join(&render(parent), &quoted), "unknown_field", message));
            return at(value, parent)
                .and_then(|o| o.as_object_mut())
                .and_then(|o| o.remove(&quoted))
                .is_some();
        }
        // Mistyped or out of range: dropped (an array element is replaced), reported once.
        self.errors.push(FieldError::new(&path, "invalid", message));
        match segments.split_last() {
            Some((Segment::Map { key }, parent)) => {
                let dropped = at(value, parent).and_then(|o| o.as_object_mut()).and_then(|o| o.remove(key));
                self.filled.push((segments.clone(), 0));
                dropped.is_some()
            }
            Some((Segment::Seq { .. }, _)) => {
                self.filled.push((segments, 0));
                let i = self.filled.len() - 1;
                self.fill(value, i)
            }
            _ => false,
        }
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") }
}

pub const DEVICE_HEADER: HeaderName = HeaderName::from_static("x-device-fingerprint");

/// Where a request came from, for sessions, login attempts and the audit log.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device_fingerprint: Option<String>,
    pub request_id: Option<String>,
}

fn header_text(parts: &http::request::Parts, name: impl header::AsHeaderName, max: usize) -> Option<String> {
    let v = parts.headers.get(name)?.to_str().ok()?.trim();
    (!v.is_empty()).then(|| v.chars().take(max).collect())
}

impl Caller {
    pub fn of(parts: &http::request::Parts) -> Self {
        Self {
            ip: parts.extensions.get::<ClientIp>().map(|c| c.0.clone()),
            user_agent: header_text(parts, header::USER_AGENT, 512),
            device_fingerprint: header_text(parts, DEVICE_HEADER, 200),
            request_id: current_request_id(),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Item>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    #[test]
    fn shape_errors_name_the_field() {
        let err = parse_json::<Order>(br#"{"items":[{"quantity":1}]}"#).err();
        match err {
            Some(ApiError::Validation(errors)) => {
                assert_eq!(errors, vec![FieldError::new("items[0].sku", "required", "missing field `sku`")]);
            }
            other => unreachable!("expected a validation error, got {other:?}"),
        }
        let err = parse_json::<Order>(br#"{"items":[{"sku":"A","quantity":-1}]}"#).err();
        assert!(
            matches!(&err, Some(ApiError::Validation(e)) if e[0].field == "items[0].quantity" && e[0].code == "invalid"),
            "{err:?}"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        reference: String,
        lines: Vec<Line>,
        payment: Payment,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        sku: String,
        quantity: u32,
        note: Option<String>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Payment {
        source: String,
        token: Option<String>,
    }

    fn problems<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> Vec<(String, String)> {
        match read_json::<T>(body.as_bytes()) {
            Err(BodyError::Fields(errors)) => {
                let mut found: Vec<(String, String)> =
                    errors.into_iter().map(|e| (e.field, e.code)).collect();
                found.sort();
                found
            }
            other => unreachable!("expected shape errors, got {other:?}"),
        }
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> =
            expected.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect();
        v.sort();
        v
    }

    #[test]
    fn every_shape_error_comes_at_once_with_its_path() {
        let body = r#"{"lines":[{"quantity":"two","colour":"red"},{"sku":5,"quantity":1,"note":7}],"tenant_id":"x"}"#;
        assert_eq!(
            problems::<Strict>(body),
            pairs(&[
                ("lines[0].quantity", "invalid"),
                ("lines[0].sku", "required"),
                ("lines[0].colour", "unknown_field"),
                ("lines[1].sku", "invalid"),
                ("lines[1].note", "invalid"),
                ("tenant_id", "unknown_field"),
                ("reference", "required"),
                ("payment", "required"),
            ])
        );
        // A required object that is missing is one problem, not one per field inside it.
        assert_eq!(problems::<Strict>(r#"{"reference":"A","lines":[]}"#), pairs(&[("payment", "required")]));
        // Mistyped array elements are each named.
        assert_eq!(
            problems::<Order>(r#"{"items":[1,{"sku":"A","quantity":1},"x"]}"#),
            pairs(&[("items[0]", "invalid"), ("items[2]", "invalid")])
        );
        // A body that reads is read.
        assert!(read_json::<Strict>(br#"{"reference":"A","lines":[],"payment":{"source":"terms"}}"#).is_ok());
    }

    #[test]
    fn syntax_errors_are_malformed() {
        for body in [&b"{\"items\": ["[..], b"", br#"{"items":[]} trailing"#] {
            assert!(matches!(parse_json::<Order>(body), Err(ApiError::MalformedBody(_))), "{body:?}");
        }
    }
}
