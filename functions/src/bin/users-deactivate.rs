//! Lambda function `users-deactivate`: see `gateway::registry::USERS_DEACTIVATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::USERS_DEACTIVATE)
}
