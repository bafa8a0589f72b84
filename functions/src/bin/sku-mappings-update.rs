//! Lambda function `sku-mappings-update`: see `gateway::registry::SKU_MAPPINGS_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_UPDATE)
}
