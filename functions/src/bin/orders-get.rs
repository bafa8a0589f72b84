//! Lambda function `orders-get`: see `gateway::registry::ORDERS_GET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::ORDERS_GET)
}
