//! Lambda function `users-update`: see `gateway::registry::USERS_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::USERS_UPDATE)
}
