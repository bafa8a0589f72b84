//! A tenant's members as its admins see them, and their invitations.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Error;

pub const INVITATION_TTL: Duration = Duration::days(7);
/// The longest name a tenant (or a person) gives a member.
pub const MAX_DISPLAY_NAME: usize = 200;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// The membership in the acting tenant: invited, active or deactivated.
    pub status: String,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// An invitation as its maker sees it: the same whether or not the person already exists
/// elsewhere, and with no user id (another tenant's ids stay unseen).
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// Refuses a display name over [`MAX_DISPLAY_NAME`] characters.
pub fn check_display_name(name: Option<&str>) -> Result<(), Error> {
    if name.is_some_and(|n| n.chars().count() > MAX_DISPLAY_NAME) {
        return Err(Error::invalid("display_name", "too_long", "at most 200 characters"));
    }
    Ok(())
}

/// What to filter a tenant's members by.
#[derive(Debug, Default)]
pub struct MemberFilter {
    /// Only this member (a caller who may see only themself).
    pub only: Option<Uuid>,
    pub status: Option<String>,
    pub role: Option<String>,
    /// A `LIKE` pattern for the email.
    pub email_like: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_at_most_two_hundred_characters() {
        assert!(check_display_name(None).is_ok());
        assert!(check_display_name(Some(&"é".repeat(200))).is_ok(), "characters, not bytes");
        assert!(
            matches!(check_display_name(Some(&"a".repeat(201))), Err(Error::Invalid(e)) if e[0].code == "too_long")
        );
    }
}
