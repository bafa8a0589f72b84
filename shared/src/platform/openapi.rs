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
    paths(health::health, health::ready, openapi_json, crate::auth::login::login, crate::auth::sessions::refresh, crate::auth::sessions::logout, crate::auth::login::me, crate::auth::sessions::switch_tenant, crate::auth::recovery::request_reset, crate::auth::recovery::confirm_reset, crate::auth::recovery::accept_invitation, crate::auth::sessions::list_sessions, crate::auth::sessions::revoke_session, crate::tenancy::roles::list_roles, crate::tenancy::tenants::create, crate::tenancy::tenants::list, crate::tenancy::tenants::get, crate::tenancy::tenants::update, crate::tenancy::tenants::suspend, crate::tenancy::tenants::reactivate, crate::tenancy::users::invite, crate::tenancy::users::list, crate::tenancy::users::get, crate::tenancy::users::update, crate::tenancy::users::assign_roles, crate::tenancy::users::deactivate, crate::audit::list, crate::auth::api_keys::create, crate::auth::api_keys::list, crate::auth::api_keys::rotate, crate::auth::api_keys::revoke, crate::auth::mfa::setup, crate::auth::mfa::confirm, crate::auth::mfa::verify, crate::auth::mfa::email_code, crate::auth::mfa::disable, crate::auth::sso::begin, crate::auth::sso::callback, crate::auth::sso::put_provider, crate::auth::sso::list_providers, crate::tenancy::settings::list, crate::tenancy::settings::put, crate::catalog::products::list_categories, crate::catalog::products::create_category, crate::catalog::products::update_category, crate::catalog::products::list_products, crate::catalog::products::create_product, crate::catalog::products::get_product, crate::catalog::products::update_product, crate::catalog::products::review_product, crate::catalog::items::list, crate::catalog::items::create, crate::catalog::items::get, crate::catalog::items::update, crate::catalog::items::delete, crate::catalog::mappings::list, crate::catalog::mappings::create, crate::catalog::mappings::get, crate::catalog::mappings::update, crate::catalog::mappings::delete, crate::catalog::mappings::resolve_route, crate::catalog::mappings::bulk, crate::catalog::mappings::export, crate::catalog::mappings::suggestions, crate::catalog::pricing::list, crate::catalog::pricing::create, crate::catalog::pricing::get, crate::catalog::pricing::update, crate::catalog::pricing::put_prices, crate::catalog::pricing::delete_prices, crate::catalog::pricing::quote, crate::catalog::promotions::list, crate::catalog::promotions::create, crate::catalog::promotions::get, crate::catalog::promotions::update, crate::catalog::promotions::validate, crate::catalog::promotions::redeem, crate::catalog::promotions::redemptions, crate::orders::api::create, crate::orders::api::validate, crate::orders::api::list, crate::orders::api::get, crate::orders::api::update, crate::orders::api::revalidate, crate::orders::approvals::create, crate::orders::approvals::list, crate::orders::exceptions::list, crate::orders::exceptions::resolve, crate::orders::channels::create, crate::orders::channels::list, crate::orders::channels::shopify, crate::orders::channels::woocommerce, crate::orders::profiles::create, crate::orders::profiles::preview),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "platform", description = "Health, readiness and this description"),
        (name = "identity", description = "Sign-in, sessions, tokens, roles and the audit log"),
        (name = "tenants", description = "Tenant management (platform staff)"),
        (name = "users", description = "The users of the acting tenant"),
    ),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

/// The `bearer` security scheme the protected routes name: an access token from
/// `POST /api/v1/auth/login`.
struct BearerAuth;

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
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<&'static Document> {
    Json(document())
}
