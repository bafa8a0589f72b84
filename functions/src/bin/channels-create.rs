//! Lambda function `channels-create`: see `gateway::registry::CHANNELS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CHANNELS_CREATE)
}
