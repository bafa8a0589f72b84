//! Lambda function `sku-mappings-get`: see `gateway::registry::SKU_MAPPINGS_GET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_GET)
}
