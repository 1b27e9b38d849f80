//! Durable persistence for Eyrie on redb, the embedded default.
//!
//! **Not built yet.** This crate is a shell that reserves its place in the
//! workspace; the `Store` implementation comes with the redb issue.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
