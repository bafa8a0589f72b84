//! Every SQL statement of the orders context.

pub mod orders;
