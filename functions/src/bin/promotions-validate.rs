//! Lambda function `promotions-validate`: see `gateway::registry::PROMOTIONS_VALIDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROMOTIONS_VALIDATE)
}
