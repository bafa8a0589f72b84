//! Lambda function `auth-sessions-revoke`: see `gateway::registry::AUTH_SESSIONS_REVOKE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_SESSIONS_REVOKE)
}
