//! Lambda function `webhooks-shopify`: see `gateway::registry::WEBHOOKS_SHOPIFY`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::WEBHOOKS_SHOPIFY)
}
