//! Guides, each a page whose code compiles (and, but for the replicas page,
//! runs) as a doctest of this crate.

#[doc = include_str!("../docs/embed.md")]
pub mod embed {}

#[doc = include_str!("../docs/executor.md")]
pub mod executor {}

#[doc = include_str!("../docs/jobs.md")]
pub mod jobs {}

#[doc = include_str!("../docs/replicas.md")]
pub mod replicas {}
