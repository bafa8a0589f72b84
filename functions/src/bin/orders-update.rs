//! Lambda function `orders-update`: see `gateway::registry::ORDERS_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::ORDERS_UPDATE)
}
