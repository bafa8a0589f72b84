//! Lambda function `users-assign-roles`: see `gateway::registry::USERS_ASSIGN_ROLES`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::USERS_ASSIGN_ROLES)
}
