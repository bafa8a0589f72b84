//! Lambda function `auth-sso-callback`: see `gateway::registry::AUTH_SSO_CALLBACK`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_SSO_CALLBACK)
}
