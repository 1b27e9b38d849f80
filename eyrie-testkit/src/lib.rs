//! # eyrie-testkit
//!
//! Test support for Eyrie and for programs that embed it: builders for
//! typical records and a typical tenant ([`builders`]) and proptest
//! strategies ([`strategies`]). The in-memory store, the recording fake
//! cluster and the store conformance suite come with the store issue.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod builders;
pub mod strategies;
