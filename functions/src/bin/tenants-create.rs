//! Lambda function `tenants-create`: see `gateway::registry::TENANTS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::TENANTS_CREATE)
}
