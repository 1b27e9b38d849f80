//! For store authors: what a new backend builds on. [`kv`] is the
//! key-value view with the transaction engine over it, [`codec`] the record
//! envelope, [`counts`] the maintained list counters. Programs that embed
//! Eyrie never need this module.

pub mod codec;
pub mod counts;
pub mod kv;
