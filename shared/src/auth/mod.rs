//! Authentication: passwords, access tokens and their rotating key ring, sessions and refresh
//! tokens, login with lockout, password reset and invitation links, and the guard
//! ([`principal::Principal`]) that every non-public route runs against its declared [`policy`].

pub mod api_keys;
pub mod keys;
pub mod login;
pub mod mfa;
pub mod passwords;
pub mod policy;
pub mod principal;
pub mod recovery;
pub mod sessions;
pub mod sso;
pub mod tokens;
pub mod totp;
