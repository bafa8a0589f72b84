//! The orders context's rules.

pub mod intake;
pub mod orders;
