//! Lambda function `promotions-update`: see `gateway::registry::PROMOTIONS_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROMOTIONS_UPDATE)
}
