//! Lambda function `tenants-get`: see `gateway::registry::TENANTS_GET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::TENANTS_GET)
}
