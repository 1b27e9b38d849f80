//! Damage gives typed errors, never panics: a garbage record value reads as
//! `Corrupt` naming the record while the rest stays readable, and a damaged,
//! truncated, foreign or future database file is refused at open.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::path::Path;

use common::{db_path, group, open, project, scope};
use eyrie_core::storage::kit::kv::Table;
use eyrie_core::storage::{EntityKind, Index, RecordKey, Revision, Store, Transaction, Versioned, kit::codec};
use eyrie_core::{ErrorKind, Result};
use eyrie_store_redb::{LAYOUT_VERSION, RedbConfig, RedbStore};
use redb::{ReadableDatabase, TableDefinition};

const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");
const META: TableDefinition<&str, u64> = TableDefinition::new("eyrie_meta");

/// A store with a project (1), a group (2) and a scope (3), closed again.
async fn populated(dir: &Path) {
    let store = open(dir).await;
    let p = project(1, "acme");
    let g = group(2, &p, "web");
    let s = scope(3, &g, "prod");
    store.commit(Transaction::new().create(p).create(g).create(s)).await.unwrap();
}

fn open_raw(dir: &Path) -> redb::Database {
    redb::Database::open(db_path(dir)).unwrap()
}

fn open_store(path: &Path) -> Result<RedbStore> {
    RedbStore::open_blocking(RedbConfig::new(path))
}

#[tokio::test]
async fn a_garbage_record_value_is_corrupt_by_name_and_the_rest_reads() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    let key = RecordKey::new(EntityKind::Group, 2);
    let good = {
        let db = open_raw(dir.path());
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(RECORDS).unwrap();
        table.get(key.to_bytes().as_slice()).unwrap().unwrap().value().to_vec()
    };
    let scope_envelope = {
        let db = open_raw(dir.path());
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(RECORDS).unwrap();
        table.get(RecordKey::new(EntityKind::Scope, 3).to_bytes().as_slice()).unwrap().unwrap().value().to_vec()
    };
    let mut wrong_version = good.clone();
    wrong_version[0] = codec::FORMAT_VERSION + 1;
    let mut garbage_body = good[..9].to_vec();
    garbage_body.extend_from_slice(b"\xff\xfe not json at all");
    let damages: [(&str, Vec<u8>); 6] = [
        ("random bytes", vec![0x5a; 37]),
        ("empty", vec![]),
        ("truncated header", vec![codec::FORMAT_VERSION, 0, 0]),
        ("unknown format version", wrong_version),
        ("undecodable body", garbage_body),
        ("another record's envelope", scope_envelope),
    ];
    for (what, damaged) in damages {
        {
            let db = open_raw(dir.path());
            let txn = db.begin_write().unwrap();
            txn.open_table(RECORDS).unwrap().insert(key.to_bytes().as_slice(), damaged.as_slice()).unwrap();
            txn.commit().unwrap();
        }
        let store = open(dir.path()).await;
        let e = store.get(key).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt, "{what}: {e}");
        assert!(e.to_string().contains("group grp-0000000000000002"), "{what}: {e}");
        // Everything else still reads.
        assert!(store.get(RecordKey::new(EntityKind::Project, 1)).await.unwrap().is_some(), "{what}");
        assert_eq!(store.list(Index::GroupScopes(eyrie_core::GroupId(2))).await.unwrap().len(), 1, "{what}");
        assert_eq!(store.list_kind(EntityKind::Scope).await.unwrap().len(), 1, "{what}");
        // Reads that need the damaged record report it; verify lists it.
        let e = store.list(Index::ProjectGroups(eyrie_core::ProjectId(1))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt, "{what}");
        assert_eq!(store.dump().await.unwrap_err().kind(), ErrorKind::Corrupt, "{what}");
        let problems = store.verify().await.unwrap();
        assert!(problems.iter().any(|p| p.contains("group grp-0000000000000002")), "{what}: {problems:?}");
        // An update of the damaged record is refused with the same kind.
        let read = Versioned { revision: Revision::FIRST, value: group(2, &project(1, "acme"), "web") };
        let e = store.commit(Transaction::new().update(&read, read.value.clone())).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt, "{what}: {e}");
    }
    // Restoring the bytes restores the store.
    {
        let db = open_raw(dir.path());
        let txn = db.begin_write().unwrap();
        txn.open_table(RECORDS).unwrap().insert(key.to_bytes().as_slice(), good.as_slice()).unwrap();
        txn.commit().unwrap();
    }
    let store = open(dir.path()).await;
    assert!(store.verify().await.unwrap().is_empty());
}

fn assert_refused(path: &Path, what: &str) -> eyrie_core::Error {
    match open_store(path) {
        Ok(_) => panic!("{what}: the store opened"),
        Err(e) => {
            assert!(matches!(e.kind(), ErrorKind::Backend | ErrorKind::Corrupt), "{what}: {e}");
            e
        }
    }
}

#[test]
fn garbage_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for (i, len) in [1usize, 7, 100, 511, 4096, 70_000, 1 << 20].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let path = dir.path().join(format!("garbage-{i}.redb"));
        std::fs::write(&path, bytes).unwrap();
        assert_refused(&path, &format!("{len} random bytes"));
    }
    // A text file is not a database either.
    let path = dir.path().join("text.redb");
    std::fs::write(&path, "this is not a database\n".repeat(300)).unwrap();
    let e = assert_refused(&path, "a text file");
    assert!(e.to_string().contains("text.redb"), "{e}");
}

#[tokio::test]
async fn truncated_and_overwritten_database_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    let original = std::fs::read(db_path(dir.path())).unwrap();
    assert!(original.len() > 4096, "{}", original.len());
    let damaged = dir.path().join("damaged.redb");
    for len in [1, 64, 511, 512, 4096, original.len() / 2, original.len() - 1] {
        std::fs::write(&damaged, &original[..len]).unwrap();
        assert_refused(&damaged, &format!("truncated to {len} bytes"));
    }
    // The header's magic number overwritten.
    let mut bad_header = original.clone();
    bad_header[..16].fill(0);
    std::fs::write(&damaged, &bad_header).unwrap();
    assert_refused(&damaged, "zeroed header");
    // The untouched copy still opens.
    std::fs::write(&damaged, &original).unwrap();
    let store = open_store(&damaged).unwrap();
    assert_eq!(store.dump().await.unwrap().len(), 3);
}

/// Flips bytes in every 4 KiB page after the header, one page at a time,
/// and opens each copy with or without the integrity check. Returns how
/// many copies were refused at open. Never panics: a copy that opens must
/// answer every call with a value or a typed error.
async fn open_page_damaged_copies(dir: &Path, check_integrity_on_open: bool) -> usize {
    let original = std::fs::read(db_path(dir)).unwrap();
    let damaged = dir.join(format!("damaged-{check_integrity_on_open}.redb"));
    let mut refused = 0;
    for page in 1..original.len() / 4096 {
        let mut bytes = original.clone();
        for b in &mut bytes[page * 4096 + 100..page * 4096 + 140] {
            *b ^= 0xa5;
        }
        std::fs::write(&damaged, &bytes).unwrap();
        let config = RedbConfig::new(&damaged).check_integrity_on_open(check_integrity_on_open);
        match RedbStore::open(config).await {
            Err(e) => {
                assert!(matches!(e.kind(), ErrorKind::Backend | ErrorKind::Corrupt), "page {page}: {e}");
                refused += 1;
            }
            Ok(store) => {
                let typed = |e: eyrie_core::Error| assert!(matches!(e.kind(), ErrorKind::Backend | ErrorKind::Corrupt));
                store.dump().await.map(drop).unwrap_or_else(typed);
                store.verify().await.map(drop).unwrap_or_else(typed);
                store.get(RecordKey::new(EntityKind::Group, 2)).await.map(drop).unwrap_or_else(typed);
                let tx = Transaction::new().create(project(9, "late"));
                store.commit(tx).await.map(drop).unwrap_or_else(typed);
            }
        }
    }
    refused
}

#[tokio::test]
async fn damaged_pages_are_refused_at_open_by_the_integrity_check() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    assert!(open_page_damaged_copies(dir.path(), true).await > 0, "no damaged page was detected");
}

#[tokio::test]
async fn without_the_integrity_check_damaged_pages_still_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path()).await;
    open_page_damaged_copies(dir.path(), false).await;
}

#[test]
fn an_unknown_layout_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_store(&db_path(dir.path())).unwrap());
    let set_version = |version: u64| {
        let db = open_raw(dir.path());
        let txn = db.begin_write().unwrap();
        txn.open_table(META).unwrap().insert("layout_version", version).unwrap();
        txn.commit().unwrap();
    };
    set_version(LAYOUT_VERSION + 1);
    let e = assert_refused(&db_path(dir.path()), "a future layout");
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(!e.is_retryable());
    assert!(e.to_string().contains(&format!("layout version {}", LAYOUT_VERSION + 1)), "{e}");
    set_version(LAYOUT_VERSION);
    drop(open_store(&db_path(dir.path())).unwrap());
    // Metadata without a version.
    {
        let db = open_raw(dir.path());
        let txn = db.begin_write().unwrap();
        txn.open_table(META).unwrap().remove("layout_version").unwrap();
        txn.commit().unwrap();
    }
    let e = assert_refused(&db_path(dir.path()), "no layout version");
    assert!(e.to_string().contains("no layout version"), "{e}");
}

#[test]
fn foreign_and_incomplete_redb_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.redb");
    {
        let db = redb::Database::create(&foreign).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, &str>::new("someone_else")).unwrap().insert("a", "b").unwrap();
        txn.commit().unwrap();
    }
    let e = assert_refused(&foreign, "a foreign redb file");
    assert!(e.to_string().contains("not an Eyrie store"), "{e}");

    let incomplete = db_path(dir.path());
    drop(open_store(&incomplete).unwrap());
    {
        let db = redb::Database::open(&incomplete).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(TableDefinition::<&[u8], &[u8]>::new(Table::Index.name())).unwrap());
        txn.commit().unwrap();
    }
    let e = assert_refused(&incomplete, "a missing table");
    assert!(e.to_string().contains("table index is missing"), "{e}");
}
