//! Lambda function `api-keys-create`: see `gateway::registry::API_KEYS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::API_KEYS_CREATE)
}
