//! Every SQL statement of the orders context.

pub mod approvals;
pub mod orders;
