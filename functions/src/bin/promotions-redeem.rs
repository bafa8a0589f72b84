//! Lambda function `promotions-redeem`: see `gateway::registry::PROMOTIONS_REDEEM`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROMOTIONS_REDEEM)
}
