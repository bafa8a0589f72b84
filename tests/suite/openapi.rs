//! The OpenAPI description is 3.1, served by its own route, and lists every route of the template.

use std::collections::BTreeSet;

use gateway::registry::HTTP_FUNCTIONS;

use crate::support::{self, get};

#[tokio::test]
async fn openapi_is_3_1_and_lists_every_template_route() {
    let s = support::stack().await;
    let r = get(&s.router, "/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let functions = support::template().functions().unwrap();
    let mut routes = 0;
    let mut in_template = BTreeSet::new();
    for f in functions {
        for route in f.routes {
            routes += 1;
            let op = &doc["paths"][&route.path][route.method.to_ascii_lowercase()];
            assert!(op.is_object(), "{route} ({}) is missing from the OpenAPI document", f.logical_id);
            in_template.insert((route.method, route.path));
        }
    }
    // Exactly the registry's HTTP routes, each once.
    let registered: Vec<(String, String)> =
        HTTP_FUNCTIONS.iter().flat_map(|f| f.operations()).map(|r| (r.method, r.path)).collect();
    assert_eq!(routes, registered.len(), "the template routes each registered route once");
    assert_eq!(in_template, registered.into_iter().collect::<BTreeSet<_>>());
    // And nothing else: every documented operation is a route of the template.
    let documented: usize =
        doc["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(documented, routes, "the document lists operations the template does not route");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let ready_503 = &doc["paths"]["/api/v1/health/ready"]["get"]["responses"]["503"]["content"];
    assert!(ready_503["application/problem+json"].is_object(), "{ready_503}");
}
