//! The orders context's rules.

pub mod approvals;
pub mod channels;
pub mod intake;
pub mod orders;
pub mod payment;
pub mod profiles;
pub mod stock;
