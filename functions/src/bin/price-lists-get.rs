//! Lambda function `price-lists-get`: see `gateway::registry::PRICE_LISTS_GET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PRICE_LISTS_GET)
}
