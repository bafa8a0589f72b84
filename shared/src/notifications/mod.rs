//! Notifications: email. Every email the gateway sends is requested with a
//! `notification.email_requested` event (recorded in the outbox by the service that wants it) and
//! sent by the `notify-email` function through a [`Sender`]: SES in AWS, a mailbox folder
//! locally. Addresses and contents never reach the logs.

mod consumers;
mod events;
mod model;
mod service;

pub use consumers::deliver;
pub use events::{EmailRequested, EmailTemplate};
pub use model::{Email, RenderError, SECRET_PARAMS, render};
pub use service::{Mailbox, Sender, SenderConfig, Ses};
