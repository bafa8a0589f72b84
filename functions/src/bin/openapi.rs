//! Lambda function `openapi`: see `gateway::registry::OPENAPI`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::OPENAPI)
}
