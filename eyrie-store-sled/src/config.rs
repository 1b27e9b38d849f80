//! How a [`crate::SledStore`] is opened: where, how much cache, when
//! commits reach the disk, and how large a record may be. The names are
//! those of every embedded backend's config.

use std::path::PathBuf;

use eyrie_core::storage::kit::codec::DEFAULT_MAX_RECORD_BYTES;
use eyrie_core::storage::{Durability, StoreOptions};

/// Where and how to open a store.
///
/// ```
/// use std::time::Duration;
/// use eyrie_store_sled::{Durability, SledConfig};
///
/// let config = SledConfig::new("/var/lib/eyrie/sled")
///     .durability(Durability::Eventual { flush_interval: Duration::from_millis(50) })
///     .cache_size(16 << 20)
///     .max_record_bytes(256 << 10);
/// assert_eq!(config.cache_size, Some(16 << 20));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SledConfig {
    /// The sled directory (created if missing).
    pub path: PathBuf,
    /// When commits reach the disk; [`Durability::Immediate`] by default.
    pub durability: Durability,
    /// sled's page cache in bytes; `None` for
    /// [`SledConfig::DEFAULT_CACHE_SIZE`].
    pub cache_size: Option<usize>,
    /// The longest encoded record a commit may write (1 MiB by default).
    pub max_record_bytes: usize,
}

impl SledConfig {
    /// The page cache when none is set: 64 MiB.
    pub const DEFAULT_CACHE_SIZE: usize = 64 * 1024 * 1024;

    /// A durable store at `path`: immediate durability, 64 MiB of cache,
    /// 1 MiB records.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SledConfig {
            path: path.into(),
            durability: Durability::Immediate,
            cache_size: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }

    /// Sets the durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets sled's page cache size in bytes.
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = Some(bytes);
        self
    }

    /// Sets the record size bound in bytes.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// The page cache to give sled.
    pub(crate) fn cache_bytes(&self) -> u64 {
        u64::try_from(self.cache_size.unwrap_or(Self::DEFAULT_CACHE_SIZE)).unwrap_or(u64::MAX)
    }

    /// sled's background flush interval: the `Durability::Eventual`
    /// interval (at least 1 ms), none with immediate durability (the writer
    /// flushes every group commit).
    pub(crate) fn background_flush_ms(&self) -> Option<u64> {
        match self.durability {
            Durability::Immediate => None,
            Durability::Eventual { flush_interval } => {
                Some(u64::try_from(flush_interval.as_millis()).unwrap_or(u64::MAX).max(1))
            }
        }
    }

    /// The options of the shared store layer.
    pub(crate) fn store_options(&self) -> StoreOptions {
        StoreOptions::new().durability(self.durability).max_record_bytes(self.max_record_bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn sled_flushes_in_background_only_with_eventual_durability() {
        let config = SledConfig::new("/tmp/x");
        assert_eq!(config.background_flush_ms(), None);
        let eventual = config.clone().durability(Durability::Eventual { flush_interval: Duration::from_millis(250) });
        assert_eq!(eventual.background_flush_ms(), Some(250));
        let zero = config.durability(Durability::Eventual { flush_interval: Duration::ZERO });
        assert_eq!(zero.background_flush_ms(), Some(1), "a zero interval would make sled spin");
    }
}
