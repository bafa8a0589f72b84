//! Identity: tenants and their settings, users and their memberships and roles, passwords, access
//! tokens and their rotating key ring, sessions and refresh tokens, login with lockout, MFA, SSO,
//! API keys, password reset and invitation links, and the guard ([`Principal`]) that every
//! non-public route runs against its declared [`policy`].
//!
//! Shape (issue #13): `model` (parsed types, pure rules, [`model::Error`]), `service` (rules over a
//! transaction), `store` (every SQL string), `api` (handlers: extract, call, map), `openid` (the
//! OpenID Connect client). The pure modules `passwords`, `policy` (with its generated table),
//! `roles`, `tokens` and `totp` live in `model`, the signing-key ring (`keys`) in `service`; they
//! are re-exported here under their old names.
//!
//! Other contexts use only what is exported here: [`Principal`] (the guard their handlers
//! extract), the role and permission types, the route policy types, and [`tenant_setting`].

pub mod api;
mod model;
mod openid;
mod service;
mod store;

pub use model::{Principal, TokenPair};
pub use model::{passwords, policy, roles, tokens, totp};
pub use policy::{Access, ROUTES, RoutePolicy};
pub use roles::{Permission, ROLES, Role, Scope};
pub use service::api_keys::mint as mint_api_key;
pub use service::keys;
pub use service::sessions::start as start_session;
pub use service::settings::{notify_operations, platform_tenants, tenant_setting};
