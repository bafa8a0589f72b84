//! Lambda function `orders-create`: see `gateway::registry::ORDERS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::ORDERS_CREATE)
}
