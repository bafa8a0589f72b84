//! Identity: tenants and their settings, users and their memberships and roles, passwords, access
//! tokens and their rotating key ring, sessions and refresh tokens, login with lockout, MFA, SSO,
//! API keys, password reset and invitation links, and the guard ([`principal::Principal`]) that
//! every non-public route runs against its declared [`policy`].

pub mod api_keys;
pub mod audit_log;
pub mod keys;
pub mod login;
pub mod mfa;
pub mod passwords;
pub mod policy;
pub mod principal;
pub mod recovery;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod tenants;
pub mod tokens;
pub mod totp;
pub mod users;
