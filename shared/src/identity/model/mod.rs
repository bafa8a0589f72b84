//! Identity's parsed types and pure rules: no SQL, no HTTP.

mod email;
mod error;
mod grants;
mod sso;
mod users;

pub use email::Email;
pub use error::Error;
pub use grants::{check_outranks, check_roles, is_platform_role, may_assign, may_provision_with};
pub use sso::{LOGIN_TTL, Member, PendingLogin, Provider, SsoProvider, SsoProviderConfig};
pub use users::{INVITATION_TTL, Invitation, MemberFilter, User, check_display_name};
