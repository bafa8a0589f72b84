//! Lambda function `catalog-items-get`: see `gateway::registry::CATALOG_ITEMS_GET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_ITEMS_GET)
}
