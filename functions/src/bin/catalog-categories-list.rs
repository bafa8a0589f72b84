//! Lambda function `catalog-categories-list`: see `gateway::registry::CATALOG_CATEGORIES_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_CATEGORIES_LIST)
}
