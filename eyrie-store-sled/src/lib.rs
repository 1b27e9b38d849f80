//! Durable persistence for Eyrie on sled 0.34 (placeholder docs, rewritten below).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod error;
mod layout;
mod store;
mod tables;
mod writer;

pub use config::{Durability, SledConfig};
pub use error::OpenError;
pub use layout::LAYOUT_VERSION;
pub use store::SledStore;
pub use writer::WriterStatus;
