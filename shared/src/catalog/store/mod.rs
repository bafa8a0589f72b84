//! Every SQL string of the catalog, one file per area: small functions that read rows into model
//! types and return the catalog's error.

pub mod items;
pub mod mappings;
pub mod pricing;
pub mod products;
pub mod promotions;
