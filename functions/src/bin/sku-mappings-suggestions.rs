//! Lambda function `sku-mappings-suggestions`: see `gateway::registry::SKU_MAPPINGS_SUGGESTIONS`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::SKU_MAPPINGS_SUGGESTIONS)
}
