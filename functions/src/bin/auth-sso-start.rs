//! Lambda function `auth-sso-start`: see `gateway::registry::AUTH_SSO_START`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_SSO_START)
}
