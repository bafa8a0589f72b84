//! Lambda function `rotate-signing-keys`: see `gateway::registry::ROTATE_SIGNING_KEYS`.

fn main() -> Result<(), lambda_runtime::Error> {
    gateway_functions::run_task(&gateway::registry::ROTATE_SIGNING_KEYS)
}
