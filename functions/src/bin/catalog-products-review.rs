//! Lambda function `catalog-products-review`: see `gateway::registry::CATALOG_PRODUCTS_REVIEW`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_PRODUCTS_REVIEW)
}
