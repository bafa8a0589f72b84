//! Lambda function `catalog-products-create`: see `gateway::registry::CATALOG_PRODUCTS_CREATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_PRODUCTS_CREATE)
}
