//! Lambda function `pricing-quote`: see `gateway::registry::PRICING_QUOTE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PRICING_QUOTE)
}
