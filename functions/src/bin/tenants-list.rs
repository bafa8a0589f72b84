//! Lambda function `tenants-list`: see `gateway::registry::TENANTS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::TENANTS_LIST)
}
