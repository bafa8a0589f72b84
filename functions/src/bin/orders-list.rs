//! Lambda function `orders-list`: see `gateway::registry::ORDERS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::ORDERS_LIST)
}
