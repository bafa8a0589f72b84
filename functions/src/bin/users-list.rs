//! Lambda function `users-list`: see `gateway::registry::USERS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::USERS_LIST)
}
