//! Lambda function `sku-mappings-list`: see `gateway::registry::SKU_MAPPINGS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_LIST)
}
