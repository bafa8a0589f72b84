//! Lambda function `orders-revalidate`: see `gateway::registry::ORDERS_REVALIDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::ORDERS_REVALIDATE)
}
