//! Lambda function `auth-sessions-list`: see `gateway::registry::AUTH_SESSIONS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_SESSIONS_LIST)
}
