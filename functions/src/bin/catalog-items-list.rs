//! Lambda function `catalog-items-list`: see `gateway::registry::CATALOG_ITEMS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_ITEMS_LIST)
}
