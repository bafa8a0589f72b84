//! The problem+json contract: every failure a client can cause is RFC 9457 with a stable code and
//! the request id, and a 500 never says why.

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use gateway::ApiError;
use gateway::platform::http::{ApiJson, finish};
use http::Request;
use serde::Deserialize;

use crate::support::{self, send};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    reference: String,
    lines: Vec<Line>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[allow(dead_code)]
    sku: String,
    quantity: u32,
}

/// A router built the way every function's is (`finish` over the routes), with a JSON route.
fn app(limit: usize) -> Router {
    let routes = Router::new()
        .route(
            "/orders",
            post(|ApiJson(o): ApiJson<NewOrder>| async move {
                axum::Json(serde_json::json!({"reference": o.reference, "units": o.lines.iter().map(|l| l.quantity).sum::<u32>()}))
            }),
        )
        .route("/panics", get(|| async {
            if true {
                panic!("handler bug with card 4111111111111111");
            }
            "unreachable"
        }))
        .route(
            "/boom",
            get(|| async { Err::<(), _>(ApiError::internal(std::io::Error::other("db password hunter2 rejected"))) }),
        );
    finish(routes, limit)
}

fn post_json(body: impl Into<Body>, content_type: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/orders");
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(body.into()).unwrap()
}

#[tokio::test]
async fn well_formed_json_reaches_the_handler() {
    let r = send(
        &app(1024),
        post_json(
            r#"{"reference":"A1","lines":[{"sku":"X","quantity":2},{"sku":"Y","quantity":3}]}"#,
            Some("application/json; charset=utf-8"),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["units"], 5);
    assert!(r.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn malformed_json_is_400_malformed_body() {
    let r = send(&app(1024), post_json(r#"{"reference": "A1", "lines": [ "#, Some("application/json"))).await;
    assert_eq!(r.problem(400), "malformed_body");
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let body = r#"{"reference":"A1","lines":[]}"#;
    let r = send(&app(1024), post_json(body, Some("text/plain"))).await;
    assert_eq!(r.problem(415), "unsupported_media_type");
    assert!(r.body["detail"].as_str().unwrap().contains("text/plain"));
    let r = send(&app(1024), post_json(body, None)).await;
    assert_eq!(r.problem(415), "unsupported_media_type");
}

#[tokio::test]
async fn oversized_body_is_413_with_the_limit() {
    let big = format!(r#"{{"reference":"{}","lines":[]}}"#, "x".repeat(2048));
    let r = send(&app(1024), post_json(big.clone(), Some("application/json"))).await;
    assert_eq!(r.problem(413), "payload_too_large");
    assert_eq!(r.body["limit_bytes"], 1024);
    // Streamed without a content-length, the limit still holds.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.as_bytes().chunks(100).map(|c| Ok(c.to_vec())).collect();
    let stream = Body::from_stream(futures::stream::iter(chunks));
    let r = send(&app(1024), post_json(stream, Some("application/json"))).await;
    assert_eq!(r.problem(413), "payload_too_large");
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_422_naming_each_field() {
    let r = send(
        &app(1024),
        post_json(r#"{"reference":"A1","lines":[{"quantity":1}]}"#, Some("application/json")),
    )
    .await;
    assert_eq!(r.problem(422), "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "lines[0].sku");
    assert_eq!(r.body["errors"][0]["code"], "required");
    let r = send(
        &app(1024),
        post_json(r#"{"reference":"A1","lines":[{"sku":"X","quantity":-4}]}"#, Some("application/json")),
    )
    .await;
    assert_eq!(r.problem(422), "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "lines[0].quantity");
    let r = send(
        &app(1024),
        post_json(r#"{"reference":"A1","lines":[],"tenant_id":"x"}"#, Some("application/json")),
    )
    .await;
    assert_eq!(r.problem(422), "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "unknown_field");
}

#[tokio::test]
async fn internal_errors_are_opaque_500s() {
    let r = send(&app(1024), Request::get("/boom").body(Body::empty()).unwrap()).await;
    assert_eq!(r.problem(500), "internal_error");
    let text = r.body.to_string();
    assert!(!text.contains("hunter2") && !text.contains("password"), "{text}");
    assert!(r.body.get("detail").is_none());
}

#[tokio::test]
async fn a_panicking_handler_answers_an_opaque_problem_500() {
    let r = send(&app(1024), Request::get("/panics").body(Body::empty()).unwrap()).await;
    assert_eq!(r.problem(500), "internal_error");
    assert!(!r.body.to_string().contains("4111"), "{}", r.body);
}

#[tokio::test]
async fn a_client_request_id_is_kept_and_a_hostile_one_replaced() {
    let req = Request::get("/nowhere").header("x-request-id", "client-abc-123").body(Body::empty()).unwrap();
    let r = send(&app(1024), req).await;
    r.problem(404);
    assert_eq!(r.body["request_id"], "client-abc-123");
    // Header-legal but not an id we accept: spaces, and an over-long value.
    for hostile in ["id with spaces".to_owned(), "x".repeat(65)] {
        let req =
            Request::get("/nowhere").header("x-request-id", hostile.as_str()).body(Body::empty()).unwrap();
        let r = send(&app(1024), req).await;
        r.problem(404);
        assert_ne!(r.body["request_id"], hostile.as_str());
        assert!(
            r.body["request_id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok(),
            "replaced by a fresh id"
        );
    }
}

/// Unknown routes and methods on the real composition of every function (as the local runner serves it).
#[tokio::test]
async fn unknown_route_and_method_on_the_full_api_are_problems() {
    let s = support::stack().await;
    let r = support::get(&s.router, "/api/v1/no-such-thing").await;
    assert_eq!(r.problem(404), "route_not_found");
    assert!(r.body["detail"].as_str().unwrap().contains("/api/v1/no-such-thing"));

    let req = Request::delete("/api/v1/health").body(Body::empty()).unwrap();
    let r = send(&s.router, req).await;
    assert_eq!(r.problem(405), "method_not_allowed");
    let allow = r.headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(allow.contains("GET"), "Allow: {allow}");
}
