//! Lambda function `auth-mfa-verify`: see `gateway::registry::AUTH_MFA_VERIFY`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_MFA_VERIFY)
}
