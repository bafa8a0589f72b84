//! Telemetry with `tracing`: JSON lines under Lambda (or with `LOG_FORMAT=json`), readable lines
//! locally. The request middleware opens a span holding the request id, so every line written while
//! serving a request carries it. Never log emails, names, tokens or card data.

use tracing_subscriber::EnvFilter;

use super::config::Env;

/// Installs the global subscriber once; later calls (tests) are harmless.
pub fn init(env: &Env) {
    let level = env.get("RUST_LOG").or(env.get("AWS_LAMBDA_LOG_LEVEL")).unwrap_or("info");
    let filter = EnvFilter::try_new(level.to_ascii_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = env.get("AWS_LAMBDA_FUNCTION_NAME").is_some()
        || env.get("LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if json {
        // CloudWatch stamps each line; the span list is flattened into `spans` with request_id.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .without_time()
            .try_init()
    } else {
        builder.compact().try_init()
    };
    // Err only means a subscriber is already installed.
    drop(result);
}
