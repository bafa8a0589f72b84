//! Lambda function `auth-me`: see `gateway::registry::AUTH_ME`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_ME)
}
