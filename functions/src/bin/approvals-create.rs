//! Lambda function `approvals-create`: see `gateway::registry::APPROVALS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::APPROVALS_CREATE)
}
