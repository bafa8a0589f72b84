//! Lambda function `auth-switch-tenant`: see `gateway::registry::AUTH_SWITCH_TENANT`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_SWITCH_TENANT)
}
