//! Lambda function `auth-mfa-disable`: see `gateway::registry::AUTH_MFA_DISABLE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_MFA_DISABLE)
}
