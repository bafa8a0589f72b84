//! Lambda function `auth-password-reset-confirm`: see `gateway::registry::AUTH_PASSWORD_RESET_CONFIRM`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_PASSWORD_RESET_CONFIRM)
}
