//! Lambda function `orders-validate`: see `gateway::registry::ORDERS_VALIDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::ORDERS_VALIDATE)
}
