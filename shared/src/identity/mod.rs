//! Identity: tenants and their settings, users and their memberships and roles, passwords, access
//! tokens and their rotating key ring, sessions and refresh tokens, login with lockout, MFA, SSO,
//! API keys, password reset and invitation links, and the guard ([`Principal`]) that every
//! non-public route runs against its declared [`policy`].
//!
//! Shape (issue #13): `model` (parsed types, pure rules, [`model::Error`]), `service` (rules over a
//! transaction), `store` (every SQL string), `api` (handlers: extract, call, map), `openid` (the
//! OpenID Connect client). Areas not yet moved into that shape are the remaining top-level files.
//!
//! Other contexts use only what is exported here: [`Principal`] (the guard their handlers
//! extract), the role and permission types, and the route policy types.

pub mod api;
pub mod api_keys;
pub mod audit_log;
pub mod keys;
pub mod mfa;
mod model;
mod openid;
pub mod passwords;
pub mod policy;
pub mod roles;
mod service;
pub mod settings;
mod store;
pub mod tenants;
pub mod tokens;
pub mod totp;

pub use model::{Principal, TokenPair};
pub use policy::{Access, ROUTES, RoutePolicy};
pub use roles::{Permission, ROLES, Role, Scope};
pub use service::sessions::start as start_session;
pub use settings::tenant_setting;
