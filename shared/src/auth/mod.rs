//! Authentication: passwords (and, with the identity issues, tokens, MFA and SSO).

pub mod passwords;
pub mod tokens;
