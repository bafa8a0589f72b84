//! Every SQL string of identity, one file per area.

pub(crate) mod api_keys;
pub(crate) mod invitations;
pub(crate) mod login;
pub(crate) mod memberships;
pub(crate) mod mfa;
pub(crate) mod recovery;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod sso;
pub(crate) mod tenants;
pub(crate) mod users;
