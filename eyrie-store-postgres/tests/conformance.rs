//! The shared conformance suite (`eyrie_testkit::conformance::run_all`) on
//! fresh `PostgresStore`s, one PostgreSQL schema each; the races go through
//! the pool's several connections.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::{Arc, Mutex};

use eyrie_core::storage::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_conformance_suite() {
    let Some(url) = common::server_url("postgres_store_passes_the_conformance_suite") else { return };
    let schemas = Arc::new(Mutex::new(Vec::new()));
    eyrie_testkit::conformance::run_all(|| {
        let schema = common::fresh_schema("conf");
        schemas.lock().unwrap().push(schema.clone());
        let url = url.clone();
        async move { Arc::new(common::open(&url, &schema).await) as Arc<dyn Store> }
    })
    .await;
    let made = schemas.lock().unwrap().clone();
    assert!(made.len() >= 10, "the suite ran its checks on fresh stores");
    common::drop_schemas(&url, &made).await;
}
