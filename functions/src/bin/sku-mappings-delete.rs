//! Lambda function `sku-mappings-delete`: see `gateway::registry::SKU_MAPPINGS_DELETE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_DELETE)
}
