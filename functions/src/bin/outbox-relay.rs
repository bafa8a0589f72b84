//! Lambda function `outbox-relay`: see `gateway::registry::OUTBOX_RELAY`.

fn main() -> Result<(), lambda_runtime::Error> {
    gateway_functions::run_task(&gateway::registry::OUTBOX_RELAY)
}
