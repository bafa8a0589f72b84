//! Lambda function `auth-password-reset`: see `gateway::registry::AUTH_PASSWORD_RESET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_PASSWORD_RESET)
}
