//! Lambda function `price-lists-create`: see `gateway::registry::PRICE_LISTS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PRICE_LISTS_CREATE)
}
