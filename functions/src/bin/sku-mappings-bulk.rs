//! Lambda function `sku-mappings-bulk`: see `gateway::registry::SKU_MAPPINGS_BULK`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_BULK)
}
