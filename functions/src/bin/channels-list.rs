//! Lambda function `channels-list`: see `gateway::registry::CHANNELS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CHANNELS_LIST)
}
