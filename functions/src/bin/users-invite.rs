//! Lambda function `users-invite`: see `gateway::registry::USERS_INVITE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::USERS_INVITE)
}
