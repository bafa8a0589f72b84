//! Identity's parsed types and pure rules: no SQL, no HTTP.

mod api_keys;
mod email;
mod error;
mod grants;
mod login;
mod mfa;
pub mod passwords;
pub mod policy;
mod principal;
pub mod roles;
mod sessions;
mod settings;
mod sso;
mod tenants;
pub mod tokens;
pub mod totp;
mod users;

pub use api_keys::{
    API_KEY_PREFIX, ApiKey, CreatedApiKey, KEY_TOUCH_INTERVAL, check_new_key, check_own_tenant, check_person,
    grace_period, key_status, new_key, parse_key,
};
pub use email::Email;
pub use error::Error;
pub use grants::{check_outranks, check_roles, is_platform_role, may_assign, may_provision_with};
pub use login::{
    FAILURE_WINDOW, LoginResult, Me, Membership, choose_tenant, locked_for, normalize_email,
    permission_names, retry_after_seconds, short_hash,
};
pub use mfa::{
    CHALLENGE_TTL, EMAIL_CODE_TTL, Enrolment, MAX_ATTEMPTS, MfaChallenge, RECOVERY_CODES,
    REQUIRED_ROLES_SETTING, RecoveryCodes, Sent, challenge_methods, check_one_code, email_code,
    normalize_recovery_code, otpauth_uri, recovery_code,
};
pub(crate) use principal::{LiveSession, TenantLimits, authorize, effective_roles};
pub use principal::{Principal, TOUCH_INTERVAL, role_permissions};
pub use sessions::{
    DEFAULT_IDLE_MINUTES, IDLE_SETTING, REFRESH_TOKEN_TTL, SESSION_MAX_AGE, SessionView, TokenPair,
    idle_timeout_seconds, new_secret, parse_secret,
};
pub use settings::{Setting, known_setting, settings_of};
pub use sso::{LOGIN_TTL, Member, PendingLogin, Provider, SsoProvider, SsoProviderConfig};
pub use tenants::{Tenant, TenantFields, TenantQuery, check_reason, check_status_change};
pub use users::{INVITATION_TTL, Invitation, MemberFilter, User, check_display_name};
