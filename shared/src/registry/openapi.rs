//! The OpenAPI 3.1 description, generated from the handlers' `#[utoipa::path]` annotations.
//!
//! The document (`openapi_doc.rs`, written by `local-runner generate` from the registry) lists the
//! annotations' generated path types, not the handlers, so the `openapi` function does not link
//! every other function's code (and AWS clients).

use std::sync::OnceLock;

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use super::openapi_doc::ApiDoc;

/// The whole API description (built once per instance).
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = crate::platform::config::BUILD.version.to_owned();
        for item in doc.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                document_errors(op);
            }
        }
        doc
    })
}

/// The errors every operation can answer, whether or not its annotation names them: a body that is
/// not JSON or of the wrong shape (400, 413, 415, 422) where it takes one, a parameter that cannot
/// be read (422) where it has any, no or a bad credential
/// (401), no permission (403) and a rate limit (429) where it needs one, and 500 everywhere.
fn common_errors(op: &Operation) -> Vec<(&'static str, &'static str)> {
    let mut codes = vec![("500", "Internal error (opaque; the request id names it in the logs)")];
    if op.request_body.is_some() {
        codes.extend([
            ("400", "The body is not JSON"),
            ("413", "The body is over the route's limit"),
            ("415", "The body is not application/json"),
            ("422", "The body has the wrong shape: every problem, each with its path"),
        ]);
    }
    if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        codes.push(("422", "A path or query parameter that cannot be read: every problem"));
    }
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        codes.extend([
            ("401", "No credential, or one that is not valid"),
            ("403", "The credential does not allow this"),
            (
                "404",
                "X-Tenant-Id names no tenant the caller may act for, or what the path names is not there",
            ),
            ("429", "Over the tenant's rate limit (Retry-After)"),
        ]);
    }
    codes
}

/// Every error answer of `op` documented as what it is: `application/problem+json`, the problem
/// schema; and the statuses it can answer that its annotation leaves out, added.
fn document_errors(op: &mut Operation) {
    let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    for (status, response) in op.responses.responses.iter_mut() {
        if status.as_str() < "400" {
            continue;
        }
        if let RefOr::T(r) = response {
            r.content.shift_remove("application/json");
            r.content.insert("application/problem+json".to_owned(), problem());
        }
    }
    for (status, description) in common_errors(op) {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", problem())
                    .build(),
            )
        });
    }
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "openapi", tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<&'static Document> {
    Json(document())
}
