//! Lambda function `migrate`: applies pending migrations (see `gateway::registry::MIGRATE`).

fn main() -> Result<(), lambda_runtime::Error> {
    gateway_functions::run_task(&gateway::registry::MIGRATE)
}
