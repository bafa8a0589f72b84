//! Lambda function `sso-providers-list`: see `gateway::registry::SSO_PROVIDERS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SSO_PROVIDERS_LIST)
}
