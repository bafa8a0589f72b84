//! Lambda function `auth-invitation-accept`: see `gateway::registry::AUTH_INVITATION_ACCEPT`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::AUTH_INVITATION_ACCEPT)
}
