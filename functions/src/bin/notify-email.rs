//! Lambda function `notify-email`: see `gateway::registry::NOTIFY_EMAIL`.

fn main() -> Result<(), lambda_runtime::Error> {
    gateway_functions::run_queue(&gateway::registry::NOTIFY_EMAIL)
}
