//! Lambda function `auth-logout`: see `gateway::registry::AUTH_LOGOUT`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_LOGOUT)
}
