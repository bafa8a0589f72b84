//! The OpenAPI 3.1 description, generated from the handlers' `#[utoipa::path]` annotations.
//!
//! The document lists the annotations' generated path types, not the handlers, so the `openapi`
//! function does not link every other function's code (and AWS clients). A test holds this list
//! equal to the routes of `template.yaml` in both directions.

use std::sync::OnceLock;

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

use super::error::{FieldError, Problem};
use super::health;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Regen Therapy Gateway API",
        description = "Commerce operations for the Regen Therapy tenant network. Every error is \
            RFC 9457 problem+json with a stable `code` and the `request_id`.",
    ),
    paths(health::health, health::ready, openapi_json),
    components(schemas(Problem, FieldError)),
    tags((name = "platform", description = "Health, readiness and this description")),
)]
struct ApiDoc;

/// The whole API description (built once per instance).
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = super::config::BUILD.version.to_owned();
        doc
    })
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<&'static Document> {
    Json(document())
}
