//! Lambda function `users-get`: see `gateway::registry::USERS_GET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::USERS_GET)
}
