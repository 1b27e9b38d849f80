//! Durable persistence for Eyrie on sled 0.34, for those who ask for it.
//!
//! **Not built yet.** This crate is a shell that reserves its place in the
//! workspace; the `Store` implementation comes with the sled issue.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
