//! Lambda function `profiles-preview`: see `gateway::registry::PROFILES_PREVIEW`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROFILES_PREVIEW)
}
