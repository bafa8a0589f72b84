//! Lambda function `api-keys-list`: see `gateway::registry::API_KEYS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::API_KEYS_LIST)
}
