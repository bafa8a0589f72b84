//! Lambda function `webhooks-woocommerce`: see `gateway::registry::WEBHOOKS_WOOCOMMERCE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::WEBHOOKS_WOOCOMMERCE)
}
