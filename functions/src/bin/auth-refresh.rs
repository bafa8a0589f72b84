//! Lambda function `auth-refresh`: see `gateway::registry::AUTH_REFRESH`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_REFRESH)
}
