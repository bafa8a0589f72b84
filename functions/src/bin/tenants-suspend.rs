//! Lambda function `tenants-suspend`: see `gateway::registry::TENANTS_SUSPEND`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::TENANTS_SUSPEND)
}
