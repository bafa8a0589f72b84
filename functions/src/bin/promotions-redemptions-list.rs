//! Lambda function `promotions-redemptions-list`: see `gateway::registry::PROMOTIONS_REDEMPTIONS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROMOTIONS_REDEMPTIONS_LIST)
}
