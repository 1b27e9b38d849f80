//! # eyrie-testkit
//!
//! Test support for Eyrie and for programs that embed it: the in-memory
//! store ([`MemoryStore`]), builders for typical records ([`builders`]) and
//! proptest strategies ([`strategies`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod builders;
mod memory;
pub mod strategies;

pub use memory::MemoryStore;
