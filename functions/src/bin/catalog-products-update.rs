//! Lambda function `catalog-products-update`: see `gateway::registry::CATALOG_PRODUCTS_UPDATE`.

fn main() -> Result<(), lambda_http::Error> {
    gateway_functions::run_http(&gateway::registry::CATALOG_PRODUCTS_UPDATE)
}
