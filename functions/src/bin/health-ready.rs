//! Lambda function `health-ready`: see `gateway::registry::HEALTH_READY`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::HEALTH_READY)
}
