//! Every Lambda function the gateway deploys, each declared once: its handler (whose
//! `#[utoipa::path]` gives the route and, through `operation_id`, the function's name), its access
//! policy, the capabilities it uses, the events it consumes, its schedule, and any timeout or memory
//! override. `local-runner generate` writes everything else from these declarations — the binaries
//! in `functions/src/bin`, the `events/` samples, the OpenAPI path list, the route policy table and
//! the per-context nested stacks of `template.yaml` — and `scripts/test` fails when any of it is
//! stale. A binary names its own entry only, so it links only its own handler.

pub mod openapi;
mod openapi_doc;

use std::sync::OnceLock;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::future::BoxFuture;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::identity::policy::Access::{self, Permission as P, Public, Session};
use crate::platform::capability::Capabilities;
use crate::platform::capability::Capability::{self, *};
pub use crate::platform::error::{StartupError, TaskError};
use crate::platform::state::AppState;

pub type Warm = for<'a> fn(&'a AppState) -> BoxFuture<'a, Result<(), StartupError>>;

/// The bounded context a function belongs to: its nested stack in the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    Platform,
    Identity,
    Catalog,
    Orders,
    Payments,
    Inventory,
    Operations,
}

impl Context {
    pub const ALL: &'static [Context] = &[
        Context::Platform,
        Context::Identity,
        Context::Catalog,
        Context::Orders,
        Context::Payments,
        Context::Inventory,
        Context::Operations,
    ];

    /// Lower-case name: the nested stack's file (`infra/stacks/<name>.yaml`) and OpenAPI tag.
    pub const fn name(self) -> &'static str {
        match self {
            Context::Platform => "platform",
            Context::Identity => "identity",
            Context::Catalog => "catalog",
            Context::Orders => "orders",
            Context::Payments => "payments",
            Context::Inventory => "inventory",
            Context::Operations => "operations",
        }
    }
}

/// Deployment settings a function may override (the template's defaults otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// Seconds (default 10; an HTTP API integration is cut at 30).
    pub timeout: Option<u32>,
    /// MiB (default 256).
    pub memory: Option<u32>,
}

/// An API function: one route (method and path, from its `#[utoipa::path]`), and its cold-start work.
pub struct HttpFunction {
    pub context: Context,
    pub routes: fn() -> OpenApiRouter<AppState>,
    /// The handler's path (`crate::orders::api::orders::create`), for the generated OpenAPI path list.
    pub handler: &'static str,
    pub access: Access,
    pub capabilities: Capabilities,
    pub warm: Warm,
    pub settings: Settings,
    name: OnceLock<&'static str>,
}

/// The route an API function serves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub operation_id: Option<String>,
    pub summary: Option<String>,
}

impl HttpFunction {
    pub const fn new(context: Context, api: Api, access: Access, capabilities: &[Capability]) -> Self {
        Self {
            context,
            routes: api.routes,
            handler: api.handler,
            access,
            capabilities: Capabilities::of(capabilities),
            warm: nothing,
            settings: Settings { timeout: None, memory: None },
            name: OnceLock::new(),
        }
    }

    pub const fn warm(mut self, warm: Warm) -> Self {
        self.warm = warm;
        self
    }

    pub const fn timeout(mut self, seconds: u32) -> Self {
        self.settings.timeout = Some(seconds);
        self
    }

    pub const fn memory(mut self, mib: u32) -> Self {
        self.settings.memory = Some(mib);
        self
    }

    /// Every operation the handler's annotation declares (exactly one for a well-formed entry).
    pub fn operations(&self) -> Vec<Route> {
        let doc = (self.routes)().split_for_parts().1;
        let mut out = Vec::new();
        for (path, item) in doc.paths.paths {
            let ops = [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
            ];
            for (method, op) in ops {
                if let Some(op) = op {
                    out.push(Route {
                        method: method.to_owned(),
                        path: path.clone(),
                        operation_id: op.operation_id.clone(),
                        summary: op.summary.clone(),
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// The function's name: its handler's `operation_id` with `-` for `_` (`orders_create` →
    /// `orders-create`); the binary, the event sample and the template resource are named after it.
    pub fn name(&self) -> &'static str {
        self.name.get_or_init(|| {
            let id = self.operations().into_iter().find_map(|r| r.operation_id).unwrap_or_default();
            Box::leak(id.replace('_', "-").into_boxed_str())
        })
    }
}

pub type TaskHandler =
    for<'a> fn(&'a AppState, serde_json::Value) -> BoxFuture<'a, Result<serde_json::Value, TaskError>>;

/// A function invoked directly or by a schedule (not over HTTP): JSON in, JSON out.
pub struct TaskFunction {
    pub name: &'static str,
    pub description: &'static str,
    pub context: Context,
    pub handler: TaskHandler,
    pub capabilities: Capabilities,
    /// `rate(...)` or `cron(...)`; none for a function only invoked (migrations).
    pub schedule: Option<&'static str>,
    pub settings: Settings,
}

impl TaskFunction {
    pub const fn new(
        context: Context,
        name: &'static str,
        description: &'static str,
        handler: TaskHandler,
        capabilities: &[Capability],
    ) -> Self {
        Self {
            name,
            description,
            context,
            handler,
            capabilities: Capabilities::of(capabilities),
            schedule: None,
            settings: Settings { timeout: None, memory: None },
        }
    }

    pub const fn schedule(mut self, expression: &'static str) -> Self {
        self.schedule = Some(expression);
        self
    }

    pub const fn timeout(mut self, seconds: u32) -> Self {
        self.settings.timeout = Some(seconds);
        self
    }
}

pub type QueueHandler = for<'a> fn(&'a AppState, SqsEvent) -> BoxFuture<'a, SqsBatchResponse>;

/// A function fed by an SQS queue: a batch in, the failed message ids out. Its queue, dead-letter
/// queue, alarm and the bus rule routing `consumes` to it are generated with it.
pub struct QueueFunction {
    pub name: &'static str,
    pub description: &'static str,
    pub context: Context,
    pub handler: QueueHandler,
    pub capabilities: Capabilities,
    /// The event types (`detail-type`) its rule routes to its queue.
    pub consumes: &'static [&'static str],
    pub warm: Warm,
    pub settings: Settings,
}

impl QueueFunction {
    pub const fn new(
        context: Context,
        name: &'static str,
        description: &'static str,
        handler: QueueHandler,
        capabilities: &[Capability],
        consumes: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            description,
            context,
            handler,
            capabilities: Capabilities::of(capabilities),
            consumes,
            warm: nothing,
            // Queue consumers default to 30 s; their queues' visibility timeout is six times it.
            settings: Settings { timeout: Some(30), memory: None },
        }
    }

    pub const fn warm(mut self, warm: Warm) -> Self {
        self.warm = warm;
        self
    }

    pub const fn timeout(mut self, seconds: u32) -> Self {
        self.settings.timeout = Some(seconds);
        self
    }
}

fn nothing(_: &AppState) -> BoxFuture<'_, Result<(), StartupError>> {
    Box::pin(async { Ok(()) })
}

/// One handler's routes and its path, as [`api!`] makes them for an [`HttpFunction`].
pub struct Api {
    pub routes: fn() -> OpenApiRouter<AppState>,
    pub handler: &'static str,
}

/// The [`Api`] of one handler (optionally with its own body limit).
macro_rules! api {
    ($handler:path) => {
        Api { routes: || OpenApiRouter::new().routes(routes!($handler)), handler: stringify!($handler) }
    };
    ($handler:path, body_limit = $limit:expr) => {
        Api {
            routes: || {
                crate::platform::http::with_body_limit(OpenApiRouter::new().routes(routes!($handler)), $limit)
            },
            handler: stringify!($handler),
        }
    };
}

/// Declares each function as a `pub static` and lists them by kind.
macro_rules! registry {
    (
        http { $( $(#[$hm:meta])* $h:ident = $he:expr; )* }
        tasks { $( $(#[$tm:meta])* $t:ident = $te:expr; )* }
        queues { $( $(#[$qm:meta])* $q:ident = $qe:expr; )* }
    ) => {
        $( $(#[$hm])* pub static $h: HttpFunction = $he; )*
        $( $(#[$tm])* pub static $t: TaskFunction = $te; )*
        $( $(#[$qm])* pub static $q: QueueFunction = $qe; )*
        pub static HTTP_FUNCTIONS: &[&HttpFunction] = &[$(&$h),*];
        pub static TASK_FUNCTIONS: &[&TaskFunction] = &[$(&$t),*];
        pub static QUEUE_FUNCTIONS: &[&QueueFunction] = &[$(&$q),*];
    };
}

use Context::*;

registry! {
    http {
        HEALTH = HttpFunction::new(Platform, api!(crate::platform::health::health), Public, &[]);
        HEALTH_READY = HttpFunction::new(Platform, api!(crate::platform::health::ready), Public, &[DbApp, HealthProbe])
        .warm(|s| Box::pin(crate::platform::health::warm_ready(s)));
        OPENAPI = HttpFunction::new(Platform, api!(crate::registry::openapi::openapi_json), Public, &[])
            .warm(|_| Box::pin(async { crate::registry::openapi::document(); Ok(()) }));
        AUTH_LOGIN = HttpFunction::new(Identity, api!(crate::identity::api::login::login), Public, &[DbApp, VerifyTokens, SignTokens, RateLimits]);
        AUTH_REFRESH = HttpFunction::new(Identity, api!(crate::identity::api::sessions::refresh), Public, &[DbApp, VerifyTokens, SignTokens]);
        AUTH_LOGOUT = HttpFunction::new(Identity, api!(crate::identity::api::sessions::logout), Session, &[DbApp, VerifyTokens, RateLimits]);
        AUTH_ME = HttpFunction::new(Identity, api!(crate::identity::api::login::me), Session, &[DbApp, VerifyTokens, RateLimits]);
        AUTH_SWITCH_TENANT = HttpFunction::new(Identity, api!(crate::identity::api::sessions::switch_tenant), Session, &[DbApp, VerifyTokens, SignTokens, RateLimits]);
        AUTH_PASSWORD_RESET = HttpFunction::new(Identity, api!(crate::identity::api::recovery::request_reset), Public, &[DbApp, VerifyTokens, PublishEvents]);
        AUTH_PASSWORD_RESET_CONFIRM = HttpFunction::new(Identity, api!(crate::identity::api::recovery::confirm_reset), Public, &[DbApp, VerifyTokens]);
        AUTH_INVITATION_ACCEPT = HttpFunction::new(Identity, api!(crate::identity::api::recovery::accept_invitation), Public, &[DbApp, VerifyTokens]);
        AUTH_SESSIONS_LIST = HttpFunction::new(Identity, api!(crate::identity::api::sessions::list_sessions), Session, &[DbApp, VerifyTokens, RateLimits]);
        AUTH_SESSIONS_REVOKE = HttpFunction::new(Identity, api!(crate::identity::api::sessions::revoke_session), Session, &[DbApp, VerifyTokens, RateLimits]);
        ROLES_LIST = HttpFunction::new(Identity, api!(crate::identity::api::roles::list_roles), Session, &[DbApp, VerifyTokens, RateLimits]);
        TENANTS_CREATE = HttpFunction::new(Identity, api!(crate::identity::api::tenants::create), P("tenants:create:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        TENANTS_LIST = HttpFunction::new(Identity, api!(crate::identity::api::tenants::list), P("tenants:read:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        TENANTS_GET = HttpFunction::new(Identity, api!(crate::identity::api::tenants::get), P("tenants:read:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        TENANTS_UPDATE = HttpFunction::new(Identity, api!(crate::identity::api::tenants::update), P("tenants:update:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        TENANTS_SUSPEND = HttpFunction::new(Identity, api!(crate::identity::api::tenants::suspend), P("tenants:suspend:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        TENANTS_REACTIVATE = HttpFunction::new(Identity, api!(crate::identity::api::tenants::reactivate), P("tenants:update:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        USERS_INVITE = HttpFunction::new(Identity, api!(crate::identity::api::users::invite), P("users:create"), &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        USERS_LIST = HttpFunction::new(Identity, api!(crate::identity::api::users::list), P("users:read:own"), &[DbApp, VerifyTokens, RateLimits]);
        USERS_GET = HttpFunction::new(Identity, api!(crate::identity::api::users::get), P("users:read:own"), &[DbApp, VerifyTokens, RateLimits]);
        USERS_UPDATE = HttpFunction::new(Identity, api!(crate::identity::api::users::update), P("users:update"), &[DbApp, VerifyTokens, RateLimits]);
        USERS_ASSIGN_ROLES = HttpFunction::new(Identity, api!(crate::identity::api::users::assign_roles), P("users:assign"), &[DbApp, VerifyTokens, RateLimits]);
        USERS_DEACTIVATE = HttpFunction::new(Identity, api!(crate::identity::api::users::deactivate), P("users:deactivate"), &[DbApp, VerifyTokens, RateLimits]);
        AUDIT_LIST = HttpFunction::new(Identity, api!(crate::identity::api::audit_log::list), P("audit:read"), &[DbApp, VerifyTokens, RateLimits]);
        API_KEYS_CREATE = HttpFunction::new(Identity, api!(crate::identity::api::api_keys::create), P("api_keys:create"), &[DbApp, VerifyTokens, RateLimits]);
        API_KEYS_LIST = HttpFunction::new(Identity, api!(crate::identity::api::api_keys::list), P("api_keys:read"), &[DbApp, VerifyTokens, RateLimits]);
        API_KEYS_ROTATE = HttpFunction::new(Identity, api!(crate::identity::api::api_keys::rotate), P("api_keys:update"), &[DbApp, VerifyTokens, RateLimits]);
        API_KEYS_REVOKE = HttpFunction::new(Identity, api!(crate::identity::api::api_keys::revoke), P("api_keys:delete"), &[DbApp, VerifyTokens, RateLimits]);
        AUTH_MFA_SETUP = HttpFunction::new(Identity, api!(crate::identity::api::mfa::setup), Session, &[DbApp, VerifyTokens, SealingKey, RateLimits]);
        AUTH_MFA_CONFIRM = HttpFunction::new(Identity, api!(crate::identity::api::mfa::confirm), Session, &[DbApp, VerifyTokens, SealingKey, RateLimits]);
        AUTH_MFA_VERIFY = HttpFunction::new(Identity, api!(crate::identity::api::mfa::verify), Public, &[DbApp, VerifyTokens, SignTokens, SealingKey, RateLimits]);
        AUTH_MFA_EMAIL = HttpFunction::new(Identity, api!(crate::identity::api::mfa::email_code), Public, &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        AUTH_MFA_DISABLE = HttpFunction::new(Identity, api!(crate::identity::api::mfa::disable), Session, &[DbApp, VerifyTokens, SealingKey, RateLimits]);
        AUTH_SSO_START = HttpFunction::new(Identity, api!(crate::identity::api::sso::begin), Public, &[DbApp, VerifyTokens, SealingKey]);
        AUTH_SSO_CALLBACK = HttpFunction::new(Identity, api!(crate::identity::api::sso::callback), Public, &[DbApp, VerifyTokens, SignTokens, SealingKey]);
        SSO_PROVIDERS_PUT = HttpFunction::new(Identity, api!(crate::identity::api::sso::put_provider), P("settings:update"), &[DbApp, VerifyTokens, SealingKey, RateLimits]);
        SSO_PROVIDERS_LIST = HttpFunction::new(Identity, api!(crate::identity::api::sso::list_providers), P("settings:read"), &[DbApp, VerifyTokens, RateLimits]);
        SETTINGS_LIST = HttpFunction::new(Identity, api!(crate::identity::api::settings::list), P("settings:read"), &[DbApp, VerifyTokens, RateLimits]);
        SETTINGS_PUT = HttpFunction::new(Identity, api!(crate::identity::api::settings::put), P("settings:update"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_CATEGORIES_LIST = HttpFunction::new(Catalog, api!(crate::catalog::api::products::list_categories), P("catalog:read"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_CATEGORIES_CREATE = HttpFunction::new(Catalog, api!(crate::catalog::api::products::create_category), P("catalog:create:all"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_CATEGORIES_UPDATE = HttpFunction::new(Catalog, api!(crate::catalog::api::products::update_category), P("catalog:update:all"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_PRODUCTS_LIST = HttpFunction::new(Catalog, api!(crate::catalog::api::products::list_products), P("catalog:read"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_PRODUCTS_CREATE = HttpFunction::new(Catalog, api!(crate::catalog::api::products::create_product), P("catalog:create:own"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_PRODUCTS_GET = HttpFunction::new(Catalog, api!(crate::catalog::api::products::get_product), P("catalog:read"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_PRODUCTS_UPDATE = HttpFunction::new(Catalog, api!(crate::catalog::api::products::update_product), P("catalog:update:own"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_PRODUCTS_REVIEW = HttpFunction::new(Catalog, api!(crate::catalog::api::products::review_product), P("catalog:approve:all"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_ITEMS_LIST = HttpFunction::new(Catalog, api!(crate::catalog::api::items::list), P("catalog:read"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_ITEMS_CREATE = HttpFunction::new(Catalog, api!(crate::catalog::api::items::create), P("catalog:create"), &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        CATALOG_ITEMS_GET = HttpFunction::new(Catalog, api!(crate::catalog::api::items::get), P("catalog:read"), &[DbApp, VerifyTokens, RateLimits]);
        CATALOG_ITEMS_UPDATE = HttpFunction::new(Catalog, api!(crate::catalog::api::items::update), P("catalog:update"), &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        CATALOG_ITEMS_DELETE = HttpFunction::new(Catalog, api!(crate::catalog::api::items::delete), P("catalog:delete"), &[DbApp, VerifyTokens, RateLimits]);
        SKU_MAPPINGS_LIST = HttpFunction::new(Catalog, api!(crate::catalog::api::mappings::list), P("sku_mappings:read"), &[DbApp, VerifyTokens, RateLimits]);
        SKU_MAPPINGS_CREATE = HttpFunction::new(Catalog, api!(crate::catalog::api::mappings::create), P("sku_mappings:create"), &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        SKU_MAPPINGS_GET = HttpFunction::new(Catalog, api!(crate::catalog::api::mappings::get), P("sku_mappings:read"), &[DbApp, VerifyTokens, RateLimits]);
        SKU_MAPPINGS_UPDATE = HttpFunction::new(Catalog, api!(crate::catalog::api::mappings::update), P("sku_mappings:update"), &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        SKU_MAPPINGS_DELETE = HttpFunction::new(Catalog, api!(crate::catalog::api::mappings::delete), P("sku_mappings:delete"), &[DbApp, VerifyTokens, RateLimits]);
        SKU_MAPPINGS_RESOLVE = HttpFunction::new(Catalog, api!(crate::catalog::api::mappings::resolve_route), P("sku_mappings:read"), &[DbApp, VerifyTokens, RateLimits]);
        SKU_MAPPINGS_BULK = HttpFunction::new(
            Catalog,
            api!(crate::catalog::api::mappings::bulk, body_limit = crate::catalog::BULK_BODY_LIMIT),
            P("sku_mappings:create"),
            &[DbApp, VerifyTokens, RateLimits, PublishEvents],
        );
        SKU_MAPPINGS_EXPORT = HttpFunction::new(Catalog, api!(crate::catalog::api::mappings::export), P("sku_mappings:read"), &[DbApp, VerifyTokens, RateLimits]);
        SKU_MAPPINGS_SUGGESTIONS = HttpFunction::new(Catalog, api!(crate::catalog::api::mappings::suggestions), P("sku_mappings:read"), &[DbApp, VerifyTokens, RateLimits]);
        PRICE_LISTS_LIST = HttpFunction::new(Catalog, api!(crate::catalog::api::pricing::list), P("pricing:read"), &[DbApp, VerifyTokens, RateLimits]);
        PRICE_LISTS_CREATE = HttpFunction::new(Catalog, api!(crate::catalog::api::pricing::create), P("pricing:create"), &[DbApp, VerifyTokens, RateLimits]);
        PRICE_LISTS_GET = HttpFunction::new(Catalog, api!(crate::catalog::api::pricing::get), P("pricing:read"), &[DbApp, VerifyTokens, RateLimits]);
        PRICE_LISTS_UPDATE = HttpFunction::new(Catalog, api!(crate::catalog::api::pricing::update), P("pricing:update"), &[DbApp, VerifyTokens, RateLimits]);
        PRICE_LISTS_PRICES_PUT = HttpFunction::new(Catalog, api!(crate::catalog::api::pricing::put_prices), P("pricing:update"), &[DbApp, VerifyTokens, RateLimits]);
        PRICE_LISTS_PRICES_DELETE = HttpFunction::new(Catalog, api!(crate::catalog::api::pricing::delete_prices), P("pricing:update"), &[DbApp, VerifyTokens, RateLimits]);
        PRICING_QUOTE = HttpFunction::new(Catalog, api!(crate::catalog::api::pricing::quote), P("pricing:read"), &[DbApp, VerifyTokens, RateLimits]);
        PROMOTIONS_LIST = HttpFunction::new(Catalog, api!(crate::catalog::api::promotions::list), P("promotions:read"), &[DbApp, VerifyTokens, RateLimits]);
        PROMOTIONS_CREATE = HttpFunction::new(Catalog, api!(crate::catalog::api::promotions::create), P("promotions:create"), &[DbApp, VerifyTokens, RateLimits]);
        PROMOTIONS_GET = HttpFunction::new(Catalog, api!(crate::catalog::api::promotions::get), P("promotions:read"), &[DbApp, VerifyTokens, RateLimits]);
        PROMOTIONS_UPDATE = HttpFunction::new(Catalog, api!(crate::catalog::api::promotions::update), P("promotions:update"), &[DbApp, VerifyTokens, RateLimits]);
        PROMOTIONS_VALIDATE = HttpFunction::new(Catalog, api!(crate::catalog::api::promotions::validate), P("pricing:read"), &[DbApp, VerifyTokens, RateLimits]);
        PROMOTIONS_REDEEM = HttpFunction::new(Catalog, api!(crate::catalog::api::promotions::redeem), P("promotions:redeem"), &[DbApp, VerifyTokens, RateLimits]);
        PROMOTIONS_REDEMPTIONS_LIST = HttpFunction::new(Catalog, api!(crate::catalog::api::promotions::redemptions), P("promotions:read"), &[DbApp, VerifyTokens, RateLimits]);
        ORDERS_CREATE = HttpFunction::new(Orders, api!(crate::orders::api::orders::create), P("orders:create:own"), &[DbApp, VerifyTokens, RateLimits, Idempotency, PublishEvents]);
        ORDERS_VALIDATE = HttpFunction::new(Orders, api!(crate::orders::api::orders::validate), P("orders:create:own"), &[DbApp, VerifyTokens, RateLimits]);
        ORDERS_LIST = HttpFunction::new(Orders, api!(crate::orders::api::orders::list), P("orders:read:own"), &[DbApp, VerifyTokens, RateLimits]);
        ORDERS_GET = HttpFunction::new(Orders, api!(crate::orders::api::orders::get), P("orders:read:own"), &[DbApp, VerifyTokens, RateLimits]);
        ORDERS_UPDATE = HttpFunction::new(Orders, api!(crate::orders::api::orders::update), P("orders:update:own"), &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        ORDERS_REVALIDATE = HttpFunction::new(Orders, api!(crate::orders::api::orders::revalidate), P("orders:update"), &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        APPROVALS_CREATE = HttpFunction::new(Orders, api!(crate::orders::api::approvals::create), P("orders:update"), &[DbApp, VerifyTokens, RateLimits]);
        APPROVALS_LIST = HttpFunction::new(Orders, api!(crate::orders::api::approvals::list), P("orders:read"), &[DbApp, VerifyTokens, RateLimits]);
        EXCEPTIONS_LIST = HttpFunction::new(Orders, api!(crate::orders::api::exceptions::list), P("orders:read"), &[DbApp, VerifyTokens, RateLimits]);
        EXCEPTIONS_GET = HttpFunction::new(Orders, api!(crate::orders::api::exceptions::get), P("orders:read"), &[DbApp, VerifyTokens, RateLimits]);
        EXCEPTIONS_RESOLVE = HttpFunction::new(Orders, api!(crate::orders::api::exceptions::resolve), P("orders:update"), &[DbApp, VerifyTokens, RateLimits]);
        EXCEPTIONS_RETRY = HttpFunction::new(Orders, api!(crate::orders::api::exceptions::retry), P("orders:update"), &[DbApp, VerifyTokens, RateLimits, PublishEvents]);
        CHANNELS_CREATE = HttpFunction::new(Orders, api!(crate::orders::api::channels::create), P("channels:create"), &[DbApp, VerifyTokens, SealingKey, RateLimits]);
        CHANNELS_LIST = HttpFunction::new(Orders, api!(crate::orders::api::channels::list), P("channels:read"), &[DbApp, VerifyTokens, RateLimits]);
        WEBHOOKS_SHOPIFY = HttpFunction::new(Orders, api!(crate::orders::api::channels::shopify), Public, &[DbApp, SealingKey, PublishEvents]);
        WEBHOOKS_WOOCOMMERCE = HttpFunction::new(Orders, api!(crate::orders::api::channels::woocommerce), Public, &[DbApp, SealingKey, PublishEvents]);
        PROFILES_CREATE = HttpFunction::new(Orders, api!(crate::orders::api::profiles::create), P("channels:update"), &[DbApp, VerifyTokens, RateLimits]);
        PROFILES_PREVIEW = HttpFunction::new(Orders, api!(crate::orders::api::profiles::preview), P("channels:read"), &[DbApp, VerifyTokens, RateLimits]);
        PAYMENTS_ACCOUNTS_CREATE = HttpFunction::new(Payments, api!(crate::payments::api::accounts::create_account), P("payments:update:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        PAYMENTS_ACCOUNTS_LIST = HttpFunction::new(Payments, api!(crate::payments::api::accounts::list_accounts), P("payments:read:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        PAYMENTS_ACCOUNTS_UPDATE = HttpFunction::new(Payments, api!(crate::payments::api::accounts::update_account), P("payments:update:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        PAYMENTS_SETS_CREATE = HttpFunction::new(Payments, api!(crate::payments::api::accounts::create_set), P("payments:update:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        PAYMENTS_SETS_LIST = HttpFunction::new(Payments, api!(crate::payments::api::accounts::list_sets), P("payments:read:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        PAYMENTS_TENANT_GET = HttpFunction::new(Payments, api!(crate::payments::api::accounts::tenant_accounts), P("payments:read:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        PAYMENT_METHODS_CREATE = HttpFunction::new(Payments, api!(crate::payments::api::methods::create), P("orders:create:own"), &[DbApp, VerifyTokens, RateLimits, PaymentGateways]);
        PAYMENT_METHODS_GET = HttpFunction::new(Payments, api!(crate::payments::api::methods::get), P("orders:read:own"), &[DbApp, VerifyTokens, RateLimits]);
        PAYMENTS_TENANT_ASSIGN = HttpFunction::new(Payments, api!(crate::payments::api::accounts::assign), P("payments:update:all"), &[DbApp, DbOps, VerifyTokens, RateLimits]);
        PAYMENTS_CHARGE = HttpFunction::new(Payments, api!(crate::payments::api::payments::charge), P("orders:create:own"), &[DbApp, VerifyTokens, RateLimits, Idempotency, CircuitBreakers, PaymentGateways, PublishEvents]);
        PAYMENTS_CAPTURE = HttpFunction::new(Payments, api!(crate::payments::api::payments::capture), P("payments:update"), &[DbApp, VerifyTokens, RateLimits, Idempotency, CircuitBreakers, PaymentGateways, PublishEvents]);
        PAYMENTS_VOID = HttpFunction::new(Payments, api!(crate::payments::api::payments::void), P("payments:update"), &[DbApp, VerifyTokens, RateLimits, Idempotency, CircuitBreakers, PaymentGateways, PublishEvents]);
        PAYMENTS_REFUND = HttpFunction::new(Payments, api!(crate::payments::api::payments::refund), P("refunds:create"), &[DbApp, VerifyTokens, RateLimits, Idempotency, CircuitBreakers, PaymentGateways, PublishEvents]);
        ORDERS_PAYMENT_RETRY = HttpFunction::new(Payments, api!(crate::payments::api::payments::retry), P("orders:create:own"), &[DbApp, VerifyTokens, RateLimits, Idempotency, CircuitBreakers, PaymentGateways, PublishEvents]);
        PAYMENTS_GET = HttpFunction::new(Payments, api!(crate::payments::api::payments::get), P("payments:read"), &[DbApp, VerifyTokens, RateLimits]);
        PAYMENTS_LIST = HttpFunction::new(Payments, api!(crate::payments::api::payments::list), P("payments:read"), &[DbApp, VerifyTokens, RateLimits]);
        PAYMENTS_RECONCILIATION = HttpFunction::new(Payments, api!(crate::payments::api::payments::reconciliation), P("payments:read:all"), &[DbApp, DbOps, VerifyTokens, RateLimits, CircuitBreakers]);
        INVENTORY_LIST = HttpFunction::new(Inventory, api!(crate::inventory::api::list), P("inventory:read"), &[DbApp, VerifyTokens, RateLimits]);
        INVENTORY_RECEIVE = HttpFunction::new(Inventory, api!(crate::inventory::api::receive), P("inventory:update"), &[DbApp, DbOps, VerifyTokens, RateLimits, PublishEvents]);
        INVENTORY_ADJUST = HttpFunction::new(Inventory, api!(crate::inventory::api::adjust), P("inventory:update"), &[DbApp, DbOps, VerifyTokens, RateLimits, PublishEvents]);
        INVENTORY_ALERTS = HttpFunction::new(Inventory, api!(crate::inventory::api::alerts), P("inventory:read"), &[DbApp, VerifyTokens, RateLimits]);
        INVENTORY_FORECAST = HttpFunction::new(Inventory, api!(crate::inventory::api::forecast), P("inventory:read"), &[DbApp, VerifyTokens, RateLimits]);
        INVENTORY_MOVEMENTS = HttpFunction::new(Inventory, api!(crate::inventory::api::movements), P("inventory:read"), &[DbApp, VerifyTokens, RateLimits]);
        INVENTORY_AVAILABILITY = HttpFunction::new(Inventory, api!(crate::inventory::api::availability), P("inventory:read"), &[DbApp, VerifyTokens, RateLimits]);
        WAREHOUSES_LIST = HttpFunction::new(Inventory, api!(crate::inventory::api::list_warehouses), P("warehouses:read"), &[DbApp, VerifyTokens, RateLimits]);
        WAREHOUSES_CREATE = HttpFunction::new(Inventory, api!(crate::inventory::api::create_warehouse), P("warehouses:create"), &[DbApp, VerifyTokens, RateLimits]);
        WAREHOUSES_UPDATE = HttpFunction::new(Inventory, api!(crate::inventory::api::update_warehouse), P("warehouses:update"), &[DbApp, VerifyTokens, RateLimits]);
        DLQ_LIST = HttpFunction::new(Operations, api!(crate::operations::api::list), P("exceptions:read:all"), &[DbApp, VerifyTokens, RateLimits, DeadLetters]);
        DLQ_REPLAY = HttpFunction::new(Operations, api!(crate::operations::api::replay), P("exceptions:update:all"), &[DbApp, DbOps, VerifyTokens, RateLimits, DeadLetters]);
        DLQ_PURGE = HttpFunction::new(Operations, api!(crate::operations::api::purge), P("exceptions:update:all"), &[DbApp, DbOps, VerifyTokens, RateLimits, DeadLetters]);
        ORDERS_RESERVATIONS = HttpFunction::new(Inventory, api!(crate::inventory::api::order_reservations), P("orders:read:own"), &[DbApp, VerifyTokens, RateLimits]);
    }
    tasks {
        MIGRATE = TaskFunction::new(
            Platform,
            "migrate",
            "Applies pending database migrations as the schema owner. Invoked by deploys.",
            |s, _event| Box::pin(crate::platform::db::migrate_task(s)),
            &[DbAdmin],
        )
        .timeout(300);
        // One run holds its claimed rows while it publishes up to 10 PutEvents (10 s timeout each).
        OUTBOX_RELAY = TaskFunction::new(
            Platform,
            "outbox-relay",
            "Publishes outbox events the writers left behind (cross-tenant; gateway_ops role).",
            |s, _event| Box::pin(crate::platform::events::relay_task(s)),
            &[DbOps, PublishEvents],
        )
        .schedule("rate(1 minute)")
        .timeout(120);
        // One run asks the gateway about up to 100 open attempts (10 s per call at most).
        PAYMENTS_RECONCILE_PENDING = TaskFunction::new(
            Payments,
            "payments-reconcile-pending",
            "Resolves payment attempts whose outcome is unknown by asking their gateway (cross-tenant; gateway_ops role).",
            |s, _event| Box::pin(crate::payments::reconcile_pending_task(s)),
            &[DbOps, CircuitBreakers, PaymentGateways, PublishEvents],
        )
        .schedule("rate(5 minutes)")
        .timeout(300);
        // One run asks each queued refund's gateway whether its capture settled (10 s per call).
        // One run reads each account's settled and unsettled transactions (10 s per call).
        PAYMENTS_SETTLEMENT = TaskFunction::new(
            Payments,
            "payments-settlement",
            "Matches each gateway's settled transactions against our captures and refunds (mismatches become exceptions), then sends the refunds queued until settlement (cross-tenant; gateway_ops role).",
            |s, _event| Box::pin(crate::payments::settlement_task(s)),
            &[DbOps, CircuitBreakers, PaymentGateways, PublishEvents],
        )
        .schedule("cron(30 6 * * ? *)")
        .timeout(600);
        OPERATIONS_SWEEP = TaskFunction::new(
            Operations,
            "operations-sweep",
            "Finds orders that stayed in a state past its limit (one stuck_order exception per order and state), stock levels that differ from their ledger, dead-letter queues holding messages and open breakers (cross-tenant; gateway_ops role).",
            |s, _event| Box::pin(crate::operations::sweep_task(s)),
            &[DbApp, DbOps, PublishEvents, DeadLetters, CircuitBreakers],
        )
        .schedule("rate(5 minutes)");
        PAYMENTS_REAUTHORIZE = TaskFunction::new(
            Payments,
            "payments-reauthorize",
            "Renews order authorizations about to expire before their capture on the stored payment method, or raises an exception (cross-tenant; gateway_ops role).",
            |s, _event| Box::pin(crate::payments::reauthorize_task(s)),
            &[DbOps, CircuitBreakers, PaymentGateways, PublishEvents],
        )
        .schedule("cron(0 5 * * ? *)")
        .timeout(600);
        PAYMENTS_REFUNDS_DUE = TaskFunction::new(
            Payments,
            "payments-refunds-due",
            "Sends the partial refunds queued until their capture settled (cross-tenant; gateway_ops role).",
            |s, _event| Box::pin(crate::payments::refunds_due_task(s)),
            &[DbOps, CircuitBreakers, PaymentGateways, PublishEvents],
        )
        .schedule("rate(15 minutes)")
        .timeout(300);
        ROTATE_SIGNING_KEYS = TaskFunction::new(
            Identity,
            "rotate-signing-keys",
            "Rotates the access-token signing keys (a new active key; the previous one stays for the tokens it signed). Invoke once after the first deploy to create the first key.",
            |s, _event| Box::pin(crate::identity::keys::rotate_task(s)),
            &[RotateSigningKeys],
        )
        .schedule("rate(30 days)")
        .timeout(30);
    }
    queues {
        NOTIFY_EMAIL = QueueFunction::new(
            Platform,
            "notify-email",
            "Renders and sends requested emails (SES).",
            |s, batch| {
                Box::pin(crate::platform::consumer::handle_batch(s, "notify-email", batch, move |d| {
                    crate::notifications::deliver(s, d)
                }))
            },
            &[DbApp, Idempotency, SendEmail],
            &["notification.email_requested"],
        )
        .warm(|s| {
            Box::pin(async move {
                crate::notifications::SenderConfig::from_env(&s.config().env)?;
                Ok(())
            })
        });
        PAYMENT_AUTHORIZE = QueueFunction::new(
            Payments,
            "payment-authorize",
            "The order pipeline's payment step: authorizes each accepted order (terms and external pass without a gateway call).",
            |s, batch| {
                Box::pin(crate::platform::consumer::handle_batch(s, "payment-authorize", batch, move |d| {
                    crate::payments::consumers::on_order_accepted(s, d)
                }))
            },
            &[DbApp, Idempotency, CircuitBreakers, PaymentGateways, PublishEvents],
            &["order.accepted"],
        )
        .timeout(60);
        INVENTORY_RESERVE = QueueFunction::new(
            Inventory,
            "inventory-reserve",
            "The order pipeline's stock step: reserves each authorized order's units across warehouses, or backorders them.",
            |s, batch| {
                Box::pin(crate::platform::consumer::handle_batch(s, "inventory-reserve", batch, move |d| {
                    crate::inventory::consumers::on_payment_authorized(s, d)
                }))
            },
            &[DbApp, DbOps, Idempotency, PublishEvents],
            &["order.payment_authorized"],
        );
        PAYMENT_RELEASE = QueueFunction::new(
            Payments,
            "payment-release",
            "Gives back a cancelled order's money: its authorization voided, its capture refunded (a failure leaves an exception and is retried).",
            |s, batch| {
                Box::pin(crate::platform::consumer::handle_batch(s, "payment-release", batch, move |d| {
                    crate::payments::consumers::on_order_cancelled(s, d)
                }))
            },
            &[DbApp, Idempotency, CircuitBreakers, PaymentGateways, PublishEvents],
            &["order.cancelled"],
        )
        .timeout(60);
        INVENTORY_RELEASE = QueueFunction::new(
            Inventory,
            "inventory-release",
            "Releases a cancelled order's stock: reserved and committed units back to available, backorders cancelled.",
            |s, batch| {
                Box::pin(crate::platform::consumer::handle_batch(s, "inventory-release", batch, move |d| {
                    crate::inventory::consumers::on_order_cancelled(s, d)
                }))
            },
            &[DbApp, DbOps, Idempotency, PublishEvents],
            &["order.cancelled"],
        );
        ORDERS_ON_MAPPING = QueueFunction::new(
            Orders,
            "orders-on-mapping",
            "Revalidates orders held for an unknown SKU when a mapping for it appears.",
            |s, batch| {
                Box::pin(crate::platform::consumer::handle_batch(s, "orders-on-mapping", batch, move |d| {
                    crate::orders::consumers::on_mappings(s, d)
                }))
            },
            &[DbApp, Idempotency, PublishEvents],
            &["sku_mapping.created", "sku_mapping.updated"],
        );
    }
}
