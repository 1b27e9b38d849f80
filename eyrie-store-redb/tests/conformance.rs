//! The shared conformance suite (`eyrie_testkit::conformance::run_all`) on
//! fresh `RedbStore`s, one database file each, with immediate durability.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use eyrie_core::storage::Store;
use eyrie_store_redb::{RedbConfig, RedbStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redb_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let made = Arc::new(AtomicUsize::new(0));
    eyrie_testkit::conformance::run_all(|| {
        let path = dir.path().join(format!("store-{}.redb", made.fetch_add(1, Ordering::Relaxed)));
        async move { Arc::new(RedbStore::open(RedbConfig::new(path)).await.unwrap()) as Arc<dyn Store> }
    })
    .await;
    assert!(made.load(Ordering::Relaxed) >= 10, "the suite ran its checks on fresh stores");
}
