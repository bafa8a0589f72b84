//! Lambda function `tenants-update`: see `gateway::registry::TENANTS_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::TENANTS_UPDATE)
}
