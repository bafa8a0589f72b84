//! Lambda function `catalog-items-create`: see `gateway::registry::CATALOG_ITEMS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_ITEMS_CREATE)
}
