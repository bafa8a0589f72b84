//! Lambda function `health`: see `gateway::registry::HEALTH`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::HEALTH)
}
