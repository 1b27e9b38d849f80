//! [`RedbConfig`]: where the database lives, how hard each commit tries to
//! reach the disk ([`Durability`]), the page cache and the record size
//! bound. The names are those of every embedded backend's config.

use std::path::{Path, PathBuf};

use eyrie_core::storage::kit::codec::DEFAULT_MAX_RECORD_BYTES;
use eyrie_core::storage::{Durability, StoreOptions};

/// How to open a [`crate::RedbStore`].
///
/// ```
/// use std::time::Duration;
/// use eyrie_store_redb::{Durability, RedbConfig};
///
/// let config = RedbConfig::new("/var/lib/eyrie/store.redb")
///     .durability(Durability::Eventual { flush_interval: Duration::from_millis(50) })
///     .cache_size(64 << 20)
///     .max_record_bytes(256 << 10);
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
    /// The longest encoded record a commit may write (1 MiB by default).
    pub max_record_bytes: usize,
    /// Verify the checksum of every page when opening, not only after a
    /// crash. A file damaged behind redb's back is then refused at open
    /// instead of failing (or, in debug builds of redb, panicking) on the
    /// first read of a damaged page. Costs one read of the whole file per
    /// open; on by default.
    pub check_integrity_on_open: bool,
}

impl RedbConfig {
    /// Immediate durability, redb's default cache, 1 MiB records, integrity
    /// check on open.
    pub fn new(path: impl AsRef<Path>) -> Self {
        RedbConfig {
            path: path.as_ref().to_path_buf(),
            durability: Durability::Immediate,
            cache_size: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
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

    /// Sets the record size bound in bytes.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Turns the full integrity check on open on or off.
    pub fn check_integrity_on_open(mut self, enabled: bool) -> Self {
        self.check_integrity_on_open = enabled;
        self
    }

    /// The options of the shared store layer.
    pub(crate) fn store_options(&self) -> StoreOptions {
        StoreOptions::new().durability(self.durability).max_record_bytes(self.max_record_bytes)
    }
}
