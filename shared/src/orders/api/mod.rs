//! The orders context's routes: handlers extract, call the service, and map the answer.

pub mod approvals;
pub mod channels;
pub mod exceptions;
pub mod orders;
pub mod profiles;
