//! What every OpenAPI description shares: the tags' descriptions and the bearer scheme. The
//! document itself is assembled in [`crate::registry::openapi`] (it lists every context's routes).

use utoipa::openapi::OpenApi as Document;

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
    (
        "payments",
        "Payment configuration (platform staff): merchant accounts at NMI and Authorize.net, account sets, tenant assignment",
    ),
    (
        "inventory",
        "Warehouses, stock levels and their ledger, receipts and adjustments, alerts, the forecast, reservations",
    ),
    ("operations", "Dead-letter queues: peek, replay, purge (platform operations)"),
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
