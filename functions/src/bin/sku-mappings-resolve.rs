//! Lambda function `sku-mappings-resolve`: see `gateway::registry::SKU_MAPPINGS_RESOLVE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_RESOLVE)
}
