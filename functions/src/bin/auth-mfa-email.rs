//! Lambda function `auth-mfa-email`: see `gateway::registry::AUTH_MFA_EMAIL`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_MFA_EMAIL)
}
