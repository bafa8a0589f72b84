//! The role matrix, for anyone signed in.

use crate::identity::roles::{ROLES, Role};

/// The role matrix: every role with its permissions.
#[utoipa::path(get, path = "/api/v1/roles", operation_id = "roles_list", tag = "identity", security(("bearer" = [])),
    responses(
        (status = 200, description = "The 18 roles", body = Vec<Role>),
        (status = 401, description = "Not signed in", body = crate::Problem),
    ))]
pub async fn list_roles(_principal: crate::identity::Principal) -> axum::Json<&'static [Role]> {
    axum::Json(ROLES)
}
