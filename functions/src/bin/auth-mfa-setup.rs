//! Lambda function `auth-mfa-setup`: see `gateway::registry::AUTH_MFA_SETUP`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_MFA_SETUP)
}
