//! Lambda function `settings-put`: see `gateway::registry::SETTINGS_PUT`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SETTINGS_PUT)
}
