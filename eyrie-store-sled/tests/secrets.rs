//! No plaintext secret reaches sled's files: known secrets are written
//! through the service (which seals them), the store is flushed and closed,
//! and the raw bytes of every file in its directory are scanned. The known
//! plain fields must be found, which shows the scan can see text at all.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::watchdog;
use eyrie_core::storage::Store;
use eyrie_store_sled::{Durability, SledConfig, SledStore};
use eyrie_testkit::fixtures::{KNOWN_PLAIN, KNOWN_SECRETS, occurrences, read_all_files, write_known_secrets};

/// Writes the known secrets with `durability`, flushes, closes, and returns
/// every byte of the store's directory.
fn raw_bytes_after_writing_secrets(durability: Durability, name: &str) -> Vec<u8> {
    watchdog(60, name, move || async move {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(SledConfig::new(dir.path()).durability(durability)).await.unwrap());
        let tenant = write_known_secrets(store.clone() as Arc<dyn Store>).await.unwrap();
        drop(tenant);
        store.flush().await.unwrap();
        Arc::into_inner(store).expect("the service released the store").close().await.unwrap();
        read_all_files(dir.path()).unwrap()
    })
}

fn assert_no_plaintext_secret(bytes: &[u8]) {
    assert_eq!(occurrences(bytes, &KNOWN_PLAIN), KNOWN_PLAIN, "the scan sees plain fields, so it can see text");
    assert!(
        occurrences(bytes, &KNOWN_SECRETS).is_empty(),
        "plaintext secrets on disk: {:?}",
        occurrences(bytes, &KNOWN_SECRETS)
    );
}

#[test]
fn no_plaintext_secret_is_in_the_raw_files() {
    assert_no_plaintext_secret(&raw_bytes_after_writing_secrets(Durability::Immediate, "secrets"));
}

#[test]
fn no_plaintext_secret_is_in_the_raw_files_with_periodic_flushing() {
    let bytes = raw_bytes_after_writing_secrets(
        Durability::Eventual { flush_interval: Duration::from_millis(200) },
        "secrets_periodic",
    );
    assert_no_plaintext_secret(&bytes);
}
