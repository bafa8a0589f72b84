//! Lambda function `sso-providers-put`: see `gateway::registry::SSO_PROVIDERS_PUT`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SSO_PROVIDERS_PUT)
}
