//! Lambda function `promotions-list`: see `gateway::registry::PROMOTIONS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROMOTIONS_LIST)
}
