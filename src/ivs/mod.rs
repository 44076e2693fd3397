//! IVS Chat as the controllers see it: plain resource models, the pure planning functions that
//! compare desired and live state, and a client over `aws-sdk-ivschat` that speaks in those
//! models.

mod client;
mod error;
mod limiter;
mod model;
pub mod plan;

pub use client::{ClientSettings, IvsClient};
pub use error::{IvsError, IvsErrorKind};
pub use model::{Destination, Handler, LoggingConfiguration, Room, RoomSummary, owner_tags_match};
