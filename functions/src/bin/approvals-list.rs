//! Lambda function `approvals-list`: see `gateway::registry::APPROVALS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::APPROVALS_LIST)
}
