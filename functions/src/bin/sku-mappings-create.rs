//! Lambda function `sku-mappings-create`: see `gateway::registry::SKU_MAPPINGS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_CREATE)
}
