//! Lambda function `exceptions-resolve`: see `gateway::registry::EXCEPTIONS_RESOLVE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::EXCEPTIONS_RESOLVE)
}
