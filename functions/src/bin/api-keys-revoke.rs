//! Lambda function `api-keys-revoke`: see `gateway::registry::API_KEYS_REVOKE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::API_KEYS_REVOKE)
}
