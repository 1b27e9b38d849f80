//! The shared conformance suite (`eyrie_testkit::conformance::run_all`) on
//! fresh `PostgresStore`s, one PostgreSQL schema each, with serial commits
//! (the default) and with concurrent ones; the races go through the pool's
//! several connections.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::{Arc, Mutex};

use eyrie_core::storage::Store;
use eyrie_store_postgres::PostgresStore;

async fn conformance(test: &str, serial: bool) {
    let Some(url) = common::server_url(test) else { return };
    let schemas = Arc::new(Mutex::new(Vec::new()));
    eyrie_testkit::conformance::run_all(|| {
        let schema = common::fresh_schema("conf");
        schemas.lock().unwrap().push(schema.clone());
        let config = common::config(&url, &schema).serial_commits(serial);
        async move { Arc::new(PostgresStore::open(config).await.unwrap()) as Arc<dyn Store> }
    })
    .await;
    let made = schemas.lock().unwrap().clone();
    assert!(made.len() >= 10, "the suite ran its checks on fresh stores");
    common::drop_schemas(&url, &made).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_conformance_suite() {
    conformance("postgres_store_passes_the_conformance_suite", true).await;
}

/// With concurrent first attempts, the races lose serialization races and
/// re-run: the same answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_with_concurrent_commits_passes_the_conformance_suite() {
    conformance("postgres_store_with_concurrent_commits_passes_the_conformance_suite", false).await;
}
