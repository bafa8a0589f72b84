//! Lambda function `sku-mappings-export`: see `gateway::registry::SKU_MAPPINGS_EXPORT`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_EXPORT)
}
