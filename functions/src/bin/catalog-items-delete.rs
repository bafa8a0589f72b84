//! Lambda function `catalog-items-delete`: see `gateway::registry::CATALOG_ITEMS_DELETE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_ITEMS_DELETE)
}
