//! The sample events in events/ are real API Gateway v2 payloads that reach their function's handler
//! through the same Lambda adapter path (`lambda_http` request → the function's own router).

use gateway::registry::{HTTP_FUNCTIONS, QUEUE_FUNCTIONS, TASK_FUNCTIONS};
use gateway_functions::{http_router, local};

use crate::support;

#[test]
fn every_function_has_a_sample_event() {
    let names = HTTP_FUNCTIONS.iter().map(|f| f.name());
    for name in
        names.chain(TASK_FUNCTIONS.iter().map(|f| f.name)).chain(QUEUE_FUNCTIONS.iter().map(|f| f.name))
    {
        let path = local::repo_root().join(format!("events/{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        serde_json::from_str::<serde_json::Value>(&text).unwrap();
    }
}

#[tokio::test]
async fn each_api_event_reaches_its_own_function_and_no_other() {
    let s = support::stack_state().await;
    for f in HTTP_FUNCTIONS {
        let text =
            std::fs::read_to_string(local::repo_root().join(format!("events/{}.json", f.name()))).unwrap();
        let req = lambda_http::request::from_str(&text).unwrap();
        let router = http_router(f, s.clone());
        let reply = support::send(&router, req.map(|b| axum::body::Body::from(b.to_vec()))).await;
        // It reached the handler: not a routing miss, not a crash. (Protected routes answer 401 to
        // the sample's placeholder token; public ones succeed or refuse the sample's values.)
        let code = reply.body.get("code").and_then(|c| c.as_str()).unwrap_or("");
        assert!(
            code != "route_not_found" && code != "method_not_allowed" && reply.status.as_u16() < 500,
            "{}: {} {}",
            f.name(),
            reply.status,
            reply.body
        );
        if ["health", "health-ready", "openapi", "auth-password-reset"].contains(&f.name()) {
            assert!(reply.status.is_success(), "{}: {}", f.name(), reply.body);
        }
        // Another function's router does not serve this route: one route per function.
        let other = HTTP_FUNCTIONS.iter().find(|o| o.name() != f.name()).unwrap();
        let req = lambda_http::request::from_str(&text).unwrap();
        let reply =
            support::send(&http_router(other, s.clone()), req.map(|b| axum::body::Body::from(b.to_vec())))
                .await;
        assert_eq!(reply.problem(404), "route_not_found", "{} served by {}", f.name(), other.name());
    }
}
