//! [`RedbConfig`]: where the database lives and how hard each commit tries
//! to reach the disk ([`Durability`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// When a successful commit is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is on disk (fsynced) before it returns `Ok`: it survives
    /// a process kill and a power cut. Concurrent commits share one fsync
    /// (group commit), so throughput grows with the number of writers.
    #[default]
    Immediate,
    /// Commits return once they are visible to readers; they reach the disk
    /// together, at most `flush_interval` later, at [`crate::RedbStore::flush`]
    /// and when the store is dropped. A process kill may lose the commits of
    /// the last `flush_interval`, but never part of a commit: what survives
    /// is a prefix of the commit order, with every index consistent.
    Eventual {
        /// The longest a commit stays in memory only.
        flush_interval: Duration,
    },
}

/// How to open a [`crate::RedbStore`].
///
/// ```
/// use std::time::Duration;
/// use eyrie_store_redb::{Durability, RedbConfig};
///
/// let config = RedbConfig::new("/var/lib/eyrie/store.redb")
///     .durability(Durability::Eventual { flush_interval: Duration::from_millis(50) })
///     .cache_size(64 << 20);
/// assert_eq!(config.cache_size, Some(64 << 20));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedbConfig {
    /// The database file; created (with its parent directory left to the
    /// caller) when it does not exist.
    pub path: PathBuf,
    /// When commits reach the disk; [`Durability::Immediate`] by default.
    pub durability: Durability,
    /// redb's page cache in bytes; `None` keeps redb's default (1 GiB, used
    /// only as pages are read).
    pub cache_size: Option<usize>,
    /// Verify the checksum of every page when opening, not only after a
    /// crash. A file damaged behind redb's back is then refused at open
    /// instead of failing (or, in debug builds of redb, panicking) on the
    /// first read of a damaged page. Costs one read of the whole file per
    /// open; on by default.
    pub check_integrity_on_open: bool,
}

impl RedbConfig {
    /// Immediate durability, redb's default cache, integrity check on open.
    pub fn new(path: impl AsRef<Path>) -> Self {
        RedbConfig {
            path: path.as_ref().to_path_buf(),
            durability: Durability::Immediate,
            cache_size: None,
            check_integrity_on_open: true,
        }
    }

    /// Sets the durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets redb's page cache size in bytes.
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = Some(bytes);
        self
    }

    /// Turns the full integrity check on open on or off.
    pub fn check_integrity_on_open(mut self, enabled: bool) -> Self {
        self.check_integrity_on_open = enabled;
        self
    }
}
