//! The OpenAPI 3.1 description, generated from the handlers' `#[utoipa::path]` annotations: each
//! function in the registry contributes its routes, so the document cannot miss one.

use std::sync::OnceLock;

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;

use super::error::{FieldError, Problem};
use super::state::AppState;
use crate::registry;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Regen Therapy Gateway API",
        description = "Commerce operations for the Regen Therapy tenant network. Every error is \
            RFC 9457 problem+json with a stable `code` and the `request_id`.",
    ),
    components(schemas(Problem, FieldError)),
    tags((name = "platform", description = "Health, readiness and this description")),
)]
struct Base;

/// The whole API description (built once per instance).
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let router = registry::HTTP_FUNCTIONS
            .iter()
            .fold(OpenApiRouter::<AppState>::with_openapi(Base::openapi()), |r, f| r.merge((f.routes)()));
        let mut doc = router.split_for_parts().1;
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
