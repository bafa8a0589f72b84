//! Lambda function `price-lists-list`: see `gateway::registry::PRICE_LISTS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PRICE_LISTS_LIST)
}
