//! Lambda function `catalog-products-list`: see `gateway::registry::CATALOG_PRODUCTS_LIST`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_PRODUCTS_LIST)
}
