//! Lambda function `promotions-create`: see `gateway::registry::PROMOTIONS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROMOTIONS_CREATE)
}
