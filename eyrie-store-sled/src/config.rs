//! How a [`crate::SledStore`] is opened: where, how much cache, and when
//! commits reach the disk.

use std::path::PathBuf;
use std::time::Duration;

/// When committed transactions are flushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The writer flushes after every group of commits, before any of them
    /// returns `Ok`: a commit that returned `Ok` survives a process kill.
    /// Commits queued while a flush runs share the next one (group commit).
    FlushEveryCommit,
    /// sled's own background thread flushes at this interval (at least 1 ms).
    /// A commit that returned `Ok` may be lost if the process dies within
    /// about one interval; what survives is still whole transactions, never
    /// part of one. [`crate::SledStore::flush`] forces a flush.
    Periodic(Duration),
}

/// Where and how to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledConfig {
    /// The sled directory (created if missing).
    pub path: PathBuf,
    /// sled's page cache size in bytes.
    pub cache_capacity_bytes: u64,
    /// When commits are flushed.
    pub durability: Durability,
}

impl SledConfig {
    /// The default page cache: 64 MiB.
    pub const DEFAULT_CACHE_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

    /// A durable store at `path`: flush on every commit, 64 MiB of cache.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SledConfig {
            path: path.into(),
            cache_capacity_bytes: Self::DEFAULT_CACHE_CAPACITY_BYTES,
            durability: Durability::FlushEveryCommit,
        }
    }

    /// The same configuration with `durability`.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// The same configuration with a page cache of `bytes`.
    pub fn with_cache_capacity(mut self, bytes: u64) -> Self {
        self.cache_capacity_bytes = bytes;
        self
    }

    /// sled's background flush interval in milliseconds: none when every
    /// commit is flushed by the writer, at least 1 ms otherwise.
    pub(crate) fn sled_flush_every_ms(&self) -> Option<u64> {
        match self.durability {
            Durability::FlushEveryCommit => None,
            Durability::Periodic(every) => Some(u64::try_from(every.as_millis()).unwrap_or(u64::MAX).max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_interval_follows_durability() {
        let config = SledConfig::new("/tmp/x");
        assert_eq!(config.sled_flush_every_ms(), None);
        let periodic = config.clone().with_durability(Durability::Periodic(Duration::from_millis(250)));
        assert_eq!(periodic.sled_flush_every_ms(), Some(250));
        let zero = config.with_durability(Durability::Periodic(Duration::ZERO));
        assert_eq!(zero.sled_flush_every_ms(), Some(1), "a zero interval would make sled spin");
    }
}
