//! Lambda function `profiles-create`: see `gateway::registry::PROFILES_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::PROFILES_CREATE)
}
