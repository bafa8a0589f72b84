//! Every Lambda function the gateway deploys, by the name of its binary in `functions/src/bin`
//! and its logical function in `template.yaml`. A binary runs exactly one entry; the local runner
//! and the OpenAPI document use them all; tests hold the three lists (binaries, template,
//! registry) equal.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::future::BoxFuture;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::platform::config::ConfigError;
use crate::platform::db::DbError;
use crate::platform::state::AppState;
use crate::platform::{health, openapi};

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
}

pub type Warm = for<'a> fn(&'a AppState) -> BoxFuture<'a, Result<(), StartupError>>;

/// An API function: one route (method and path, from its `#[utoipa::path]`), and its cold-start work.
pub struct HttpFunction {
    pub name: &'static str,
    pub routes: fn() -> OpenApiRouter<AppState>,
    pub warm: Warm,
}

pub type TaskHandler =
    for<'a> fn(&'a AppState, serde_json::Value) -> BoxFuture<'a, Result<serde_json::Value, TaskError>>;

/// A function invoked directly or by a schedule (not over HTTP): JSON in, JSON out.
pub struct TaskFunction {
    pub name: &'static str,
    pub handler: TaskHandler,
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Event(#[from] crate::platform::events::EventError),
    #[error("{0}")]
    Other(String),
}

impl From<ConfigError> for TaskError {
    fn from(e: ConfigError) -> Self {
        Self::Startup(e.into())
    }
}

pub type QueueHandler = for<'a> fn(&'a AppState, SqsEvent) -> BoxFuture<'a, SqsBatchResponse>;

/// A function fed by an SQS queue: a batch in, the failed message ids out.
pub struct QueueFunction {
    pub name: &'static str,
    pub handler: QueueHandler,
    pub warm: Warm,
}

fn nothing(_: &AppState) -> BoxFuture<'_, Result<(), StartupError>> {
    Box::pin(async { Ok(()) })
}

pub static HEALTH: HttpFunction = HttpFunction {
    name: "health",
    routes: || OpenApiRouter::new().routes(routes!(health::health)),
    warm: nothing,
};

pub static HEALTH_READY: HttpFunction = HttpFunction {
    name: "health-ready",
    routes: || OpenApiRouter::new().routes(routes!(health::ready)),
    warm: |s| Box::pin(health::warm_ready(s)),
};

pub static OPENAPI: HttpFunction = HttpFunction {
    name: "openapi",
    routes: || OpenApiRouter::new().routes(routes!(openapi::openapi_json)),
    warm: |_| {
        Box::pin(async {
            openapi::document();
            Ok(())
        })
    },
};

pub static AUTH_LOGIN: HttpFunction = HttpFunction {
    name: "auth-login",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::login::login)),
    warm: nothing,
};

pub static AUTH_REFRESH: HttpFunction = HttpFunction {
    name: "auth-refresh",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sessions::refresh)),
    warm: nothing,
};

pub static AUTH_LOGOUT: HttpFunction = HttpFunction {
    name: "auth-logout",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sessions::logout)),
    warm: nothing,
};

pub static AUTH_ME: HttpFunction = HttpFunction {
    name: "auth-me",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::login::me)),
    warm: nothing,
};

pub static AUTH_SWITCH_TENANT: HttpFunction = HttpFunction {
    name: "auth-switch-tenant",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sessions::switch_tenant)),
    warm: nothing,
};

pub static AUTH_PASSWORD_RESET: HttpFunction = HttpFunction {
    name: "auth-password-reset",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::recovery::request_reset)),
    warm: nothing,
};

pub static AUTH_PASSWORD_RESET_CONFIRM: HttpFunction = HttpFunction {
    name: "auth-password-reset-confirm",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::recovery::confirm_reset)),
    warm: nothing,
};

pub static AUTH_INVITATION_ACCEPT: HttpFunction = HttpFunction {
    name: "auth-invitation-accept",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::recovery::accept_invitation)),
    warm: nothing,
};

pub static AUTH_SESSIONS_LIST: HttpFunction = HttpFunction {
    name: "auth-sessions-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sessions::list_sessions)),
    warm: nothing,
};

pub static AUTH_SESSIONS_REVOKE: HttpFunction = HttpFunction {
    name: "auth-sessions-revoke",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sessions::revoke_session)),
    warm: nothing,
};

pub static ROLES_LIST: HttpFunction = HttpFunction {
    name: "roles-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::roles::list_roles)),
    warm: nothing,
};

pub static TENANTS_CREATE: HttpFunction = HttpFunction {
    name: "tenants-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::tenants::create)),
    warm: nothing,
};

pub static TENANTS_LIST: HttpFunction = HttpFunction {
    name: "tenants-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::tenants::list)),
    warm: nothing,
};

pub static TENANTS_GET: HttpFunction = HttpFunction {
    name: "tenants-get",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::tenants::get)),
    warm: nothing,
};

pub static TENANTS_UPDATE: HttpFunction = HttpFunction {
    name: "tenants-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::tenants::update)),
    warm: nothing,
};

pub static TENANTS_SUSPEND: HttpFunction = HttpFunction {
    name: "tenants-suspend",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::tenants::suspend)),
    warm: nothing,
};

pub static TENANTS_REACTIVATE: HttpFunction = HttpFunction {
    name: "tenants-reactivate",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::tenants::reactivate)),
    warm: nothing,
};

pub static USERS_INVITE: HttpFunction = HttpFunction {
    name: "users-invite",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::users::invite)),
    warm: nothing,
};

pub static USERS_LIST: HttpFunction = HttpFunction {
    name: "users-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::users::list)),
    warm: nothing,
};

pub static USERS_GET: HttpFunction = HttpFunction {
    name: "users-get",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::users::get)),
    warm: nothing,
};

pub static USERS_UPDATE: HttpFunction = HttpFunction {
    name: "users-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::users::update)),
    warm: nothing,
};

pub static USERS_ASSIGN_ROLES: HttpFunction = HttpFunction {
    name: "users-assign-roles",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::users::assign_roles)),
    warm: nothing,
};

pub static USERS_DEACTIVATE: HttpFunction = HttpFunction {
    name: "users-deactivate",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::users::deactivate)),
    warm: nothing,
};

pub static AUDIT_LIST: HttpFunction = HttpFunction {
    name: "audit-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::audit::list)),
    warm: nothing,
};

pub static API_KEYS_CREATE: HttpFunction = HttpFunction {
    name: "api-keys-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::api_keys::create)),
    warm: nothing,
};

pub static API_KEYS_LIST: HttpFunction = HttpFunction {
    name: "api-keys-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::api_keys::list)),
    warm: nothing,
};

pub static API_KEYS_ROTATE: HttpFunction = HttpFunction {
    name: "api-keys-rotate",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::api_keys::rotate)),
    warm: nothing,
};

pub static API_KEYS_REVOKE: HttpFunction = HttpFunction {
    name: "api-keys-revoke",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::api_keys::revoke)),
    warm: nothing,
};

pub static AUTH_MFA_SETUP: HttpFunction = HttpFunction {
    name: "auth-mfa-setup",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::mfa::setup)),
    warm: nothing,
};

pub static AUTH_MFA_CONFIRM: HttpFunction = HttpFunction {
    name: "auth-mfa-confirm",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::mfa::confirm)),
    warm: nothing,
};

pub static AUTH_MFA_VERIFY: HttpFunction = HttpFunction {
    name: "auth-mfa-verify",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::mfa::verify)),
    warm: nothing,
};

pub static AUTH_MFA_EMAIL: HttpFunction = HttpFunction {
    name: "auth-mfa-email",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::mfa::email_code)),
    warm: nothing,
};

pub static AUTH_MFA_DISABLE: HttpFunction = HttpFunction {
    name: "auth-mfa-disable",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::mfa::disable)),
    warm: nothing,
};

pub static AUTH_SSO_START: HttpFunction = HttpFunction {
    name: "auth-sso-start",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sso::begin)),
    warm: nothing,
};

pub static AUTH_SSO_CALLBACK: HttpFunction = HttpFunction {
    name: "auth-sso-callback",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sso::callback)),
    warm: nothing,
};

pub static SSO_PROVIDERS_PUT: HttpFunction = HttpFunction {
    name: "sso-providers-put",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sso::put_provider)),
    warm: nothing,
};

pub static SSO_PROVIDERS_LIST: HttpFunction = HttpFunction {
    name: "sso-providers-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::auth::sso::list_providers)),
    warm: nothing,
};

pub static SETTINGS_LIST: HttpFunction = HttpFunction {
    name: "settings-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::settings::list)),
    warm: nothing,
};

pub static SETTINGS_PUT: HttpFunction = HttpFunction {
    name: "settings-put",
    routes: || OpenApiRouter::new().routes(routes!(crate::tenancy::settings::put)),
    warm: nothing,
};

pub static ROTATE_SIGNING_KEYS: TaskFunction = TaskFunction {
    name: "rotate-signing-keys",
    handler: |s, _event| Box::pin(crate::auth::keys::rotate_task(s)),
};

pub static MIGRATE: TaskFunction =
    TaskFunction { name: "migrate", handler: |s, _event| Box::pin(crate::platform::db::migrate_task(s)) };

pub static OUTBOX_RELAY: TaskFunction = TaskFunction {
    name: "outbox-relay",
    handler: |s, _event| Box::pin(crate::platform::events::relay_task(s)),
};

pub static NOTIFY_EMAIL: QueueFunction = QueueFunction {
    name: "notify-email",
    handler: |s, batch| {
        Box::pin(crate::platform::consumer::handle_batch(s, "notify-email", batch, move |d| {
            crate::notifications::deliver(s, d)
        }))
    },
    warm: |s| {
        Box::pin(async move {
            crate::notifications::sender::SenderConfig::from_env(&s.config().env)?;
            Ok(())
        })
    },
};

pub static ORDERS_ON_MAPPING: QueueFunction = QueueFunction {
    name: "orders-on-mapping",
    handler: |s, batch| {
        Box::pin(crate::platform::consumer::handle_batch(s, "orders-on-mapping", batch, move |d| {
            crate::orders::revalidation::on_mappings(s, d)
        }))
    },
    warm: nothing,
};

pub static CATALOG_CATEGORIES_LIST: HttpFunction = HttpFunction {
    name: "catalog-categories-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::products::list_categories)),
    warm: nothing,
};

pub static CATALOG_CATEGORIES_CREATE: HttpFunction = HttpFunction {
    name: "catalog-categories-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::products::create_category)),
    warm: nothing,
};

pub static CATALOG_CATEGORIES_UPDATE: HttpFunction = HttpFunction {
    name: "catalog-categories-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::products::update_category)),
    warm: nothing,
};

pub static CATALOG_PRODUCTS_LIST: HttpFunction = HttpFunction {
    name: "catalog-products-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::products::list_products)),
    warm: nothing,
};

pub static CATALOG_PRODUCTS_CREATE: HttpFunction = HttpFunction {
    name: "catalog-products-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::products::create_product)),
    warm: nothing,
};

pub static CATALOG_PRODUCTS_GET: HttpFunction = HttpFunction {
    name: "catalog-products-get",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::products::get_product)),
    warm: nothing,
};

pub static CATALOG_PRODUCTS_UPDATE: HttpFunction = HttpFunction {
    name: "catalog-products-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::products::update_product)),
    warm: nothing,
};

pub static CATALOG_PRODUCTS_REVIEW: HttpFunction = HttpFunction {
    name: "catalog-products-review",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::products::review_product)),
    warm: nothing,
};

pub static CATALOG_ITEMS_LIST: HttpFunction = HttpFunction {
    name: "catalog-items-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::items::list)),
    warm: nothing,
};

pub static CATALOG_ITEMS_CREATE: HttpFunction = HttpFunction {
    name: "catalog-items-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::items::create)),
    warm: nothing,
};

pub static CATALOG_ITEMS_GET: HttpFunction = HttpFunction {
    name: "catalog-items-get",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::items::get)),
    warm: nothing,
};

pub static CATALOG_ITEMS_UPDATE: HttpFunction = HttpFunction {
    name: "catalog-items-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::items::update)),
    warm: nothing,
};

pub static CATALOG_ITEMS_DELETE: HttpFunction = HttpFunction {
    name: "catalog-items-delete",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::items::delete)),
    warm: nothing,
};

pub static SKU_MAPPINGS_LIST: HttpFunction = HttpFunction {
    name: "sku-mappings-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::mappings::list)),
    warm: nothing,
};

pub static SKU_MAPPINGS_CREATE: HttpFunction = HttpFunction {
    name: "sku-mappings-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::mappings::create)),
    warm: nothing,
};

pub static SKU_MAPPINGS_GET: HttpFunction = HttpFunction {
    name: "sku-mappings-get",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::mappings::get)),
    warm: nothing,
};

pub static SKU_MAPPINGS_UPDATE: HttpFunction = HttpFunction {
    name: "sku-mappings-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::mappings::update)),
    warm: nothing,
};

pub static SKU_MAPPINGS_DELETE: HttpFunction = HttpFunction {
    name: "sku-mappings-delete",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::mappings::delete)),
    warm: nothing,
};

pub static SKU_MAPPINGS_RESOLVE: HttpFunction = HttpFunction {
    name: "sku-mappings-resolve",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::mappings::resolve_route)),
    warm: nothing,
};

pub static SKU_MAPPINGS_BULK: HttpFunction = HttpFunction {
    name: "sku-mappings-bulk",
    routes: || {
        crate::platform::http::with_body_limit(
            OpenApiRouter::new().routes(routes!(crate::catalog::mappings::bulk)),
            crate::catalog::mappings::BULK_BODY_LIMIT,
        )
    },
    warm: nothing,
};

pub static SKU_MAPPINGS_EXPORT: HttpFunction = HttpFunction {
    name: "sku-mappings-export",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::mappings::export)),
    warm: nothing,
};

pub static SKU_MAPPINGS_SUGGESTIONS: HttpFunction = HttpFunction {
    name: "sku-mappings-suggestions",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::mappings::suggestions)),
    warm: nothing,
};

pub static PRICE_LISTS_LIST: HttpFunction = HttpFunction {
    name: "price-lists-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::pricing::list)),
    warm: nothing,
};

pub static PRICE_LISTS_CREATE: HttpFunction = HttpFunction {
    name: "price-lists-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::pricing::create)),
    warm: nothing,
};

pub static PRICE_LISTS_GET: HttpFunction = HttpFunction {
    name: "price-lists-get",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::pricing::get)),
    warm: nothing,
};

pub static PRICE_LISTS_UPDATE: HttpFunction = HttpFunction {
    name: "price-lists-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::pricing::update)),
    warm: nothing,
};

pub static PRICE_LISTS_PRICES_PUT: HttpFunction = HttpFunction {
    name: "price-lists-prices-put",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::pricing::put_prices)),
    warm: nothing,
};

pub static PRICE_LISTS_PRICES_DELETE: HttpFunction = HttpFunction {
    name: "price-lists-prices-delete",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::pricing::delete_prices)),
    warm: nothing,
};

pub static PRICING_QUOTE: HttpFunction = HttpFunction {
    name: "pricing-quote",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::pricing::quote)),
    warm: nothing,
};

pub static PROMOTIONS_LIST: HttpFunction = HttpFunction {
    name: "promotions-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::promotions::list)),
    warm: nothing,
};

pub static PROMOTIONS_CREATE: HttpFunction = HttpFunction {
    name: "promotions-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::promotions::create)),
    warm: nothing,
};

pub static PROMOTIONS_GET: HttpFunction = HttpFunction {
    name: "promotions-get",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::promotions::get)),
    warm: nothing,
};

pub static PROMOTIONS_UPDATE: HttpFunction = HttpFunction {
    name: "promotions-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::promotions::update)),
    warm: nothing,
};

pub static PROMOTIONS_VALIDATE: HttpFunction = HttpFunction {
    name: "promotions-validate",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::promotions::validate)),
    warm: nothing,
};

pub static PROMOTIONS_REDEEM: HttpFunction = HttpFunction {
    name: "promotions-redeem",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::promotions::redeem)),
    warm: nothing,
};

pub static PROMOTIONS_REDEMPTIONS_LIST: HttpFunction = HttpFunction {
    name: "promotions-redemptions-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::catalog::promotions::redemptions)),
    warm: nothing,
};

pub static ORDERS_CREATE: HttpFunction = HttpFunction {
    name: "orders-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::api::create)),
    warm: nothing,
};

pub static ORDERS_VALIDATE: HttpFunction = HttpFunction {
    name: "orders-validate",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::api::validate)),
    warm: nothing,
};

pub static ORDERS_LIST: HttpFunction = HttpFunction {
    name: "orders-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::api::list)),
    warm: nothing,
};

pub static ORDERS_GET: HttpFunction = HttpFunction {
    name: "orders-get",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::api::get)),
    warm: nothing,
};

pub static ORDERS_UPDATE: HttpFunction = HttpFunction {
    name: "orders-update",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::api::update)),
    warm: nothing,
};

pub static ORDERS_REVALIDATE: HttpFunction = HttpFunction {
    name: "orders-revalidate",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::api::revalidate)),
    warm: nothing,
};

pub static APPROVALS_CREATE: HttpFunction = HttpFunction {
    name: "approvals-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::approvals::create)),
    warm: nothing,
};

pub static APPROVALS_LIST: HttpFunction = HttpFunction {
    name: "approvals-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::approvals::list)),
    warm: nothing,
};

pub static EXCEPTIONS_LIST: HttpFunction = HttpFunction {
    name: "exceptions-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::exceptions::list)),
    warm: nothing,
};

pub static EXCEPTIONS_RESOLVE: HttpFunction = HttpFunction {
    name: "exceptions-resolve",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::exceptions::resolve)),
    warm: nothing,
};

pub static CHANNELS_CREATE: HttpFunction = HttpFunction {
    name: "channels-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::channels::create)),
    warm: nothing,
};

pub static CHANNELS_LIST: HttpFunction = HttpFunction {
    name: "channels-list",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::channels::list)),
    warm: nothing,
};

pub static WEBHOOKS_SHOPIFY: HttpFunction = HttpFunction {
    name: "webhooks-shopify",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::channels::shopify)),
    warm: nothing,
};

pub static WEBHOOKS_WOOCOMMERCE: HttpFunction = HttpFunction {
    name: "webhooks-woocommerce",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::channels::woocommerce)),
    warm: nothing,
};

pub static PROFILES_CREATE: HttpFunction = HttpFunction {
    name: "profiles-create",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::profiles::create)),
    warm: nothing,
};

pub static PROFILES_PREVIEW: HttpFunction = HttpFunction {
    name: "profiles-preview",
    routes: || OpenApiRouter::new().routes(routes!(crate::orders::profiles::preview)),
    warm: nothing,
};

pub static HTTP_FUNCTIONS: &[&HttpFunction] = &[
    &HEALTH,
    &HEALTH_READY,
    &OPENAPI,
    &AUTH_LOGIN,
    &AUTH_REFRESH,
    &AUTH_LOGOUT,
    &AUTH_ME,
    &AUTH_SWITCH_TENANT,
    &AUTH_PASSWORD_RESET,
    &AUTH_PASSWORD_RESET_CONFIRM,
    &AUTH_INVITATION_ACCEPT,
    &AUTH_SESSIONS_LIST,
    &AUTH_SESSIONS_REVOKE,
    &ROLES_LIST,
    &TENANTS_CREATE,
    &TENANTS_LIST,
    &TENANTS_GET,
    &TENANTS_UPDATE,
    &TENANTS_SUSPEND,
    &TENANTS_REACTIVATE,
    &USERS_INVITE,
    &USERS_LIST,
    &USERS_GET,
    &USERS_UPDATE,
    &USERS_ASSIGN_ROLES,
    &USERS_DEACTIVATE,
    &AUDIT_LIST,
    &API_KEYS_CREATE,
    &API_KEYS_LIST,
    &API_KEYS_ROTATE,
    &API_KEYS_REVOKE,
    &AUTH_MFA_SETUP,
    &AUTH_MFA_CONFIRM,
    &AUTH_MFA_VERIFY,
    &AUTH_MFA_EMAIL,
    &AUTH_MFA_DISABLE,
    &AUTH_SSO_START,
    &AUTH_SSO_CALLBACK,
    &SSO_PROVIDERS_PUT,
    &SSO_PROVIDERS_LIST,
    &SETTINGS_LIST,
    &SETTINGS_PUT,
    &CATALOG_CATEGORIES_LIST,
    &CATALOG_CATEGORIES_CREATE,
    &CATALOG_CATEGORIES_UPDATE,
    &CATALOG_PRODUCTS_LIST,
    &CATALOG_PRODUCTS_CREATE,
    &CATALOG_PRODUCTS_GET,
    &CATALOG_PRODUCTS_UPDATE,
    &CATALOG_PRODUCTS_REVIEW,
    &CATALOG_ITEMS_LIST,
    &CATALOG_ITEMS_CREATE,
    &CATALOG_ITEMS_GET,
    &CATALOG_ITEMS_UPDATE,
    &CATALOG_ITEMS_DELETE,
    &SKU_MAPPINGS_LIST,
    &SKU_MAPPINGS_CREATE,
    &SKU_MAPPINGS_GET,
    &SKU_MAPPINGS_UPDATE,
    &SKU_MAPPINGS_DELETE,
    &SKU_MAPPINGS_RESOLVE,
    &SKU_MAPPINGS_BULK,
    &SKU_MAPPINGS_EXPORT,
    &SKU_MAPPINGS_SUGGESTIONS,
    &PRICE_LISTS_LIST,
    &PRICE_LISTS_CREATE,
    &PRICE_LISTS_GET,
    &PRICE_LISTS_UPDATE,
    &PRICE_LISTS_PRICES_PUT,
    &PRICE_LISTS_PRICES_DELETE,
    &PRICING_QUOTE,
    &PROMOTIONS_LIST,
    &PROMOTIONS_CREATE,
    &PROMOTIONS_GET,
    &PROMOTIONS_UPDATE,
    &PROMOTIONS_VALIDATE,
    &PROMOTIONS_REDEEM,
    &PROMOTIONS_REDEMPTIONS_LIST,
    &ORDERS_CREATE,
    &ORDERS_VALIDATE,
    &ORDERS_LIST,
    &ORDERS_GET,
    &ORDERS_UPDATE,
    &ORDERS_REVALIDATE,
    &APPROVALS_CREATE,
    &APPROVALS_LIST,
    &EXCEPTIONS_LIST,
    &EXCEPTIONS_RESOLVE,
    &CHANNELS_CREATE,
    &CHANNELS_LIST,
    &WEBHOOKS_SHOPIFY,
    &WEBHOOKS_WOOCOMMERCE,
    &PROFILES_CREATE,
    &PROFILES_PREVIEW,
];
pub static TASK_FUNCTIONS: &[&TaskFunction] = &[&MIGRATE, &OUTBOX_RELAY, &ROTATE_SIGNING_KEYS];
pub static QUEUE_FUNCTIONS: &[&QueueFunction] = &[&NOTIFY_EMAIL, &ORDERS_ON_MAPPING];
