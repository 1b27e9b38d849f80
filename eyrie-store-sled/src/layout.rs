//! The on-disk layout: which sled trees hold what, and the layout version
//! kept in the `meta` tree that every open checks.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `records` | record key (9 bytes) | record envelope ([`eyrie_core::storage::kit::codec`]) |
//! | `index` | index entry (18 bytes) | empty |
//! | `unique` | unique key | owning record key (9 bytes) |
//! | `meta` | `b"layout"` | layout version, u32 big-endian |
//!
//! Tree names for the first three are [`Table::name`]; keys are those of
//! [`eyrie_core::storage`]'s `keys` module.

use eyrie_core::storage::kit::kv::Table;

use crate::config::SledConfig;
use crate::error::OpenError;

/// The layout this version reads and writes: 2 since list counters live in
/// the index tree and record envelopes may be of format 2 (a build that
/// knows only layout 1 refuses such a store instead of misreading it).
pub const LAYOUT_VERSION: u32 = 2;

/// The previous layout, upgraded on open: the same trees, without list
/// counters (the store counts its lists once when it opens).
pub const PREVIOUS_LAYOUT_VERSION: u32 = 1;

/// The tree holding store metadata.
pub(crate) const META_TREE: &str = "meta";

/// The key of the layout version in [`META_TREE`].
pub(crate) const LAYOUT_KEY: &[u8] = b"layout";

/// The open database and its three data trees.
#[derive(Debug, Clone)]
pub(crate) struct Trees {
    pub(crate) db: sled::Db,
    records: sled::Tree,
    index: sled::Tree,
    unique: sled::Tree,
}

impl Trees {
    /// The tree of `table`.
    pub(crate) fn tree(&self, table: Table) -> &sled::Tree {
        match table {
            Table::Records => &self.records,
            Table::Index => &self.index,
            Table::Unique => &self.unique,
        }
    }

    /// The three data trees, for one multi-tree transaction.
    pub(crate) fn all(&self) -> (&sled::Tree, &sled::Tree, &sled::Tree) {
        (&self.records, &self.index, &self.unique)
    }
}

/// Opens (or creates) the database described by `config` and checks its
/// layout version. A fresh database gets [`LAYOUT_VERSION`], flushed before
/// this returns. Blocking: call it off the async runtime's workers.
pub(crate) fn open(config: &SledConfig) -> Result<Trees, OpenError> {
    let path = config.path.display().to_string();
    let sled_error = |e: sled::Error| OpenError::Sled { path: path.clone(), message: e.to_string() };
    let db = sled::Config::new()
        .path(&config.path)
        .cache_capacity(config.cache_bytes())
        // Immediate: the writer flushes every group commit, no background
        // flusher. Eventual: sled's own flusher at the interval, so a flush
        // never holds up the writer (the configuration of sled's stall
        // reports, as before; see the crate docs).
        .flush_every_ms(config.background_flush_ms());
    let db = open_waiting_for_lock(&db).map_err(sled_error)?;
    let open_tree = |table: Table| db.open_tree(table.name()).map_err(sled_error);
    let trees = Trees {
        records: open_tree(Table::Records)?,
        index: open_tree(Table::Index)?,
        unique: open_tree(Table::Unique)?,
        db: db.clone(),
    };
    let meta = db.open_tree(META_TREE).map_err(sled_error)?;
    match meta.get(LAYOUT_KEY).map_err(sled_error)? {
        Some(bytes) => {
            if check_version(&path, &bytes)? == PREVIOUS_LAYOUT_VERSION {
                meta.insert(LAYOUT_KEY, &LAYOUT_VERSION.to_be_bytes()).map_err(sled_error)?;
                db.flush().map_err(sled_error)?;
            }
        }
        None => {
            let holds_data = Table::ALL.iter().any(|&t| !trees.tree(t).is_empty());
            if holds_data {
                return Err(OpenError::BadMetadata { path, reason: "data without a layout version".into() });
            }
            meta.insert(LAYOUT_KEY, &LAYOUT_VERSION.to_be_bytes()).map_err(sled_error)?;
            db.flush().map_err(sled_error)?;
        }
    }
    Ok(trees)
}

/// How long [`open_waiting_for_lock`] waits for the file lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens `config`, waiting up to [`LOCK_WAIT`] while the directory's file
/// lock is held: sled releases it when the last handle's background threads
/// let go, which may be moments after a store of this process was closed.
/// A lock still held after that (another process) fails as before.
fn open_waiting_for_lock(config: &sled::Config) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock") && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Accepts [`LAYOUT_VERSION`] and [`PREVIOUS_LAYOUT_VERSION`], encoded as 4
/// big-endian bytes; returns which.
fn check_version(path: &str, bytes: &[u8]) -> Result<u32, OpenError> {
    let found: [u8; 4] = bytes.try_into().map_err(|_| OpenError::BadMetadata {
        path: path.to_owned(),
        reason: format!("layout version is {} bytes, not 4", bytes.len()),
    })?;
    match u32::from_be_bytes(found) {
        version @ (LAYOUT_VERSION | PREVIOUS_LAYOUT_VERSION) => Ok(version),
        found => Err(OpenError::UnknownLayout { path: path.to_owned(), found, supported: LAYOUT_VERSION }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_layout_is_accepted() {
        assert_eq!(check_version("p", &LAYOUT_VERSION.to_be_bytes()).unwrap(), LAYOUT_VERSION);
        assert_eq!(check_version("p", &1u32.to_be_bytes()).unwrap(), PREVIOUS_LAYOUT_VERSION);
        assert!(matches!(check_version("p", &3u32.to_be_bytes()), Err(OpenError::UnknownLayout { found: 3, .. })));
        assert!(matches!(check_version("p", &[0, 1]), Err(OpenError::BadMetadata { .. })));
        assert!(matches!(check_version("p", &[]), Err(OpenError::BadMetadata { .. })));
    }
}
