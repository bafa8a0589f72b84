//! Lambda function `price-lists-update`: see `gateway::registry::PRICE_LISTS_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PRICE_LISTS_UPDATE)
}
