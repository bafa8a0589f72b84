//! Lambda function `auth-mfa-confirm`: see `gateway::registry::AUTH_MFA_CONFIRM`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_MFA_CONFIRM)
}
