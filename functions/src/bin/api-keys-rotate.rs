//! Lambda function `api-keys-rotate`: see `gateway::registry::API_KEYS_ROTATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::API_KEYS_ROTATE)
}
