//! The shared conformance suite (`eyrie_testkit::conformance::run_all`) on
//! fresh `SledStore`s, each in its own directory, under a watchdog.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::{Arc, Mutex};

use common::watchdog;
use eyrie_core::storage::Store;
use eyrie_store_sled::{SledConfig, SledStore};

#[test]
fn sled_store_passes_the_conformance_suite() {
    watchdog(120, "conformance", || async {
        let dirs = Arc::new(Mutex::new(Vec::new()));
        eyrie_testkit::conformance::run_all(|| {
            let dirs = dirs.clone();
            async move {
                let dir = tempfile::tempdir().unwrap();
                let config = SledConfig::new(dir.path()).cache_size(8 << 20);
                let store = SledStore::open(config).await.unwrap();
                dirs.lock().unwrap().push(dir);
                Arc::new(store) as Arc<dyn Store>
            }
        })
        .await;
    });
}
