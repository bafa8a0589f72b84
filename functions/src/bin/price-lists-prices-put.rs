//! Lambda function `price-lists-prices-put`: see `gateway::registry::PRICE_LISTS_PRICES_PUT`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PRICE_LISTS_PRICES_PUT)
}
