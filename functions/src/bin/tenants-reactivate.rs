//! Lambda function `tenants-reactivate`: see `gateway::registry::TENANTS_REACTIVATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::TENANTS_REACTIVATE)
}
