//! Identity's parsed types and pure rules: no SQL, no HTTP.

mod email;
mod error;
mod grants;
mod login;
mod principal;
mod sessions;
mod sso;
mod users;

pub use email::Email;
pub use error::Error;
pub use grants::{check_outranks, check_roles, is_platform_role, may_assign, may_provision_with};
pub use login::{
    FAILURE_WINDOW, LoginResult, Me, Membership, choose_tenant, locked_for, normalize_email,
    permission_names, retry_after_seconds, short_hash,
};
pub(crate) use principal::{LiveSession, TenantLimits, authorize, effective_roles};
pub use principal::{Principal, TOUCH_INTERVAL, role_permissions};
pub use sessions::{
    DEFAULT_IDLE_MINUTES, IDLE_SETTING, REFRESH_TOKEN_TTL, SESSION_MAX_AGE, SessionView, TokenPair,
    idle_timeout_seconds, new_secret, parse_secret,
};
pub use sso::{LOGIN_TTL, Member, PendingLogin, Provider, SsoProvider, SsoProviderConfig};
pub use users::{INVITATION_TTL, Invitation, MemberFilter, User, check_display_name};
