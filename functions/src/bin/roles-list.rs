//! Lambda function `roles-list`: see `gateway::registry::ROLES_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::ROLES_LIST)
}
