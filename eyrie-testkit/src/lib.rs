//! # eyrie-testkit
//!
//! Test support for Eyrie and for programs that embed it:
//!
//! - [`MemoryStore`], the in-memory store and reference backend;
//! - [`conformance::run_all`], the checks every `Store` must pass, run by
//!   each backend crate against its own store;
//! - [`RecordingExecutor`], a fake cluster executor that records calls and
//!   can be told to fail or stall;
//! - [`fixtures`]: a manual clock, sequential ids, a test key ring, and a
//!   typical tenant built through the service;
//! - [`builders`] for single records and [`strategies`] for proptest;
//! - [`InterposingStore`], which changes the world between a call's
//!   authorization and its commit.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod builders;
#[allow(clippy::expect_used, clippy::unwrap_used)] // a test suite: it fails by panicking
pub mod conformance;
pub mod crash;
mod executor;
pub mod fixtures;
mod interpose;
mod memory;
mod objects;
pub mod strategies;
pub mod trace;

pub use executor::{Call, Op, RecordingExecutor, Restored};
pub use interpose::{Change, InterposingStore};
pub use memory::MemoryStore;
pub use objects::MemoryObjects;
