//! Lambda function `catalog-categories-create`: see `gateway::registry::CATALOG_CATEGORIES_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_CATEGORIES_CREATE)
}
