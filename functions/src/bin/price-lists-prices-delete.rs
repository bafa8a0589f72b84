//! Lambda function `price-lists-prices-delete`: see `gateway::registry::PRICE_LISTS_PRICES_DELETE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PRICE_LISTS_PRICES_DELETE)
}
