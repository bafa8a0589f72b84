//! Lambda function `catalog-products-get`: see `gateway::registry::CATALOG_PRODUCTS_GET`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_PRODUCTS_GET)
}
