//! Lambda function `promotions-get`: see `gateway::registry::PROMOTIONS_GET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROMOTIONS_GET)
}
