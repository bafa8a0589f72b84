//! Lambda function `exceptions-list`: see `gateway::registry::EXCEPTIONS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::EXCEPTIONS_LIST)
}
