//! Lambda function `audit-list`: see `gateway::registry::AUDIT_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUDIT_LIST)
}
