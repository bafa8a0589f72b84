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

/// Descriptions of the tags the handlers use; the generated document lists each used one.
pub const TAGS: &[(&str, &str)] = &[
    ("platform", "Health, readiness and this description"),
    ("identity", "Sign-in, sessions, tokens, roles and the audit log"),
    ("tenants", "Tenant management (platform staff)"),
    ("users", "The users of the acting tenant"),
    ("catalog", "Platform products and categories, and each tenant's catalog"),
    ("sku mappings", "Tenant SKUs mapped to platform SKUs: resolution, bulk import and export"),
    ("pricing", "Price lists and quotes"),
    ("promotions", "Promotions and their redemptions"),
    ("orders", "Order intake, the order APIs, approvals and exceptions"),
    ("channels", "Sales channels, their field-mapping profiles and webhooks"),
];

/// The `bearer` security scheme the protected routes name: an access token from
/// `POST /api/v1/auth/login`.
pub(crate) struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut Document) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

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
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "openapi", tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<&'static Document> {
    Json(document())
}
