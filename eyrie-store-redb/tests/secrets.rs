//! No plaintext secret reaches the redb file: known secrets are written
//! through the service (which seals them), the store is closed, and the raw
//! bytes of every file in its directory are scanned.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use eyrie_core::storage::Store;
use eyrie_store_redb::{RedbConfig, RedbStore};
use eyrie_testkit::fixtures::{KNOWN_PLAIN, KNOWN_SECRETS, occurrences, read_all_files, write_known_secrets};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_secret_is_in_the_raw_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Arc::new(RedbStore::open(RedbConfig::new(dir.path().join("eyrie.redb"))).await.unwrap());
        write_known_secrets(store.clone() as Arc<dyn Store>).await.unwrap();
        store.flush().await.unwrap();
    }
    let bytes = read_all_files(dir.path()).unwrap();
    assert_eq!(occurrences(&bytes, &KNOWN_PLAIN), KNOWN_PLAIN, "the scan sees plain fields, so it can see text");
    assert!(
        occurrences(&bytes, &KNOWN_SECRETS).is_empty(),
        "plaintext secrets on disk: {:?}",
        occurrences(&bytes, &KNOWN_SECRETS)
    );
}
