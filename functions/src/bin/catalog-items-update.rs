//! Lambda function `catalog-items-update`: see `gateway::registry::CATALOG_ITEMS_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_ITEMS_UPDATE)
}
