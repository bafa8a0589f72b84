//! The OpenAPI 3.1 description, generated from the handlers' `#[utoipa::path]` annotations.
//!
//! The document (`openapi_doc.rs`, written by `local-runner generate` from the registry) lists the
//! annotations' generated path types, not the handlers, so the `openapi` function does not link
//! every other function's code (and AWS clients).

use std::sync::OnceLock;

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

use super::openapi_doc::ApiDoc;

/// The whole API description (built once per instance).
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = crate::platform::config::BUILD.version.to_owned();
        doc
    })
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "openapi", tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<&'static Document> {
    Json(document())
}
