//! Lambda function `settings-list`: see `gateway::registry::SETTINGS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SETTINGS_LIST)
}
