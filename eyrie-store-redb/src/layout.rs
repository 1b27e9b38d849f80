//! The on-disk layout: which tables a store file holds, its layout version,
//! and the check that refuses a file this build does not understand.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `eyrie_meta` | `&str` | `u64`: `"layout_version"` → [`LAYOUT_VERSION`] |
//! | `records` | record key (9 bytes) | record envelope of [`eyrie_core::storage::kit::codec`] |
//! | `index` | index entry (18 bytes) | empty |
//! | `unique` | unique key | owning record key (9 bytes) |
//!
//! The layout version covers this crate's choices (table names and types,
//! the metadata itself); the record envelope carries its own format version,
//! checked by the codec on every read.

use std::panic::AssertUnwindSafe;
use std::path::Path;

use eyrie_core::storage::kit::kv::Table;
use eyrie_core::{Error, Result};
use redb::{Database, ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use crate::config::RedbConfig;
use crate::error::{DATABASE_FILE, from_redb, panic_message};
use crate::tables::definition;

/// The layout this build writes and reads: 2 since list counters live in
/// the index table and record envelopes may be of format 2 (a build that
/// knows only layout 1 refuses such a file instead of misreading it).
pub const LAYOUT_VERSION: u64 = 2;

/// The previous layout, upgraded on open: the same tables, without list
/// counters (the store counts its lists once when it opens).
pub const PREVIOUS_LAYOUT_VERSION: u64 = 1;

/// The metadata table.
pub(crate) const META: TableDefinition<'static, &str, u64> = TableDefinition::new("eyrie_meta");

/// The metadata key holding the layout version.
pub(crate) const LAYOUT_KEY: &str = "layout_version";

/// Opens (creating when missing) the database of `config`, then checks or
/// initialises its layout with [`prepare`].
///
/// redb trusts a file it wrote; on a file damaged behind its back, without
/// the integrity check, its debug builds may panic instead of returning an
/// error. Such a panic is caught here and reported as `Corrupt`, so opening
/// never panics.
pub(crate) fn open_database(config: &RedbConfig) -> Result<Database> {
    std::panic::catch_unwind(AssertUnwindSafe(|| open_unguarded(config))).unwrap_or_else(|panic| {
        Err(Error::Corrupt {
            record: DATABASE_FILE.to_owned(),
            reason: format!("redb failed opening {}: {}", config.path.display(), panic_message(panic.as_ref())),
        })
    })
}

fn open_unguarded(config: &RedbConfig) -> Result<Database> {
    let mut builder = Database::builder();
    if let Some(bytes) = config.cache_size {
        builder.set_cache_size(bytes);
    }
    builder.set_check_integrity_on_open(config.check_integrity_on_open);
    let db = builder.create(&config.path).map_err(|e| from_redb(&format!("opening {}", config.path.display()), e))?;
    prepare(&db, &config.path)?;
    Ok(db)
}

/// Accepts a database holding this layout, initialises an empty one, and
/// refuses anything else: an unknown layout version, or a redb file that
/// holds other tables but no Eyrie metadata. Refusals are
/// non-retryable `Backend` errors naming the file.
pub(crate) fn prepare(db: &Database, path: &Path) -> Result<()> {
    let context = |what: &str| format!("{what} in {}", path.display());
    let txn = db.begin_write().map_err(|e| from_redb(&context("checking the layout"), e))?;
    let names = table_names(&txn).map_err(|e| from_redb(&context("listing tables"), e))?;
    if names.iter().any(|n| n == META.name()) {
        let meta = txn.open_table(META).map_err(|e| from_redb(&context("opening the metadata"), e))?;
        let found = meta.get(LAYOUT_KEY).map_err(|e| from_redb(&context("reading the layout version"), e))?;
        let mut upgrade = false;
        match found.map(|v| v.value()) {
            Some(LAYOUT_VERSION) => {}
            Some(PREVIOUS_LAYOUT_VERSION) => upgrade = true,
            Some(other) => {
                let reason = format!(
                    "on-disk layout version {other} is not supported (this build reads version {LAYOUT_VERSION})"
                );
                return Err(refused(path, &reason));
            }
            None => return Err(refused(path, "the metadata table has no layout version")),
        }
        if let Some(missing) = Table::ALL.iter().find(|t| !names.iter().any(|n| n == t.name())) {
            return Err(refused(path, &format!("table {} is missing", missing.name())));
        }
        drop(meta);
        if upgrade {
            let mut meta = txn.open_table(META).map_err(|e| from_redb(&context("opening the metadata"), e))?;
            meta.insert(LAYOUT_KEY, LAYOUT_VERSION)
                .map_err(|e| from_redb(&context("writing the layout version"), e))?;
            drop(meta);
            tracing::info!(path = %path.display(), "upgrading the store layout from {PREVIOUS_LAYOUT_VERSION} to {LAYOUT_VERSION}");
            return txn.commit().map_err(|e| from_redb(&context("upgrading the layout"), e));
        }
        return txn.abort().map_err(|e| from_redb(&context("checking the layout"), e));
    }
    if !names.is_empty() {
        return Err(refused(path, &format!("not an Eyrie store: it holds tables {names:?} but no {}", META.name())));
    }
    {
        let mut meta = txn.open_table(META).map_err(|e| from_redb(&context("creating the metadata"), e))?;
        meta.insert(LAYOUT_KEY, LAYOUT_VERSION).map_err(|e| from_redb(&context("writing the layout version"), e))?;
    }
    for table in Table::ALL {
        txn.open_table(definition(table)).map_err(|e| from_redb(&context("creating a table"), e))?;
    }
    txn.commit().map_err(|e| from_redb(&context("initialising the layout"), e))
}

fn table_names(txn: &WriteTransaction) -> Result<Vec<String>, redb::StorageError> {
    Ok(txn.list_tables()?.map(|handle| handle.name().to_owned()).collect())
}

fn refused(path: &Path, reason: &str) -> Error {
    Error::backend(format!("refusing to open {}: {reason}", path.display()), false)
}
