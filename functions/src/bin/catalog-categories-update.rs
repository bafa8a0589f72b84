//! Lambda function `catalog-categories-update`: see `gateway::registry::CATALOG_CATEGORIES_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_CATEGORIES_UPDATE)
}
