//! Every SQL statement of the orders context.

pub mod approvals;
pub mod channels;
pub mod orders;
pub mod profiles;
