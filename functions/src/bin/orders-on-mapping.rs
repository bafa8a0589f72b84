//! Lambda function `orders-on-mapping`: see `gateway::registry::ORDERS_ON_MAPPING`.

fn main() -> Result<(), lambda_runtime::Error> {
    gateway_functions::run_queue(&gateway::registry::ORDERS_ON_MAPPING)
}
