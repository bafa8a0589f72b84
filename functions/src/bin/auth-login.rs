//! Lambda function `auth-login`: see `gateway::registry::AUTH_LOGIN`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_LOGIN)
}
