//! The conformance suite on the in-memory store.

use std::sync::Arc;

use eyrie_core::storage::Store;
use eyrie_testkit::{MemoryStore, conformance};

async fn fresh() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_conformance_suite() {
    conformance::run_all(fresh).await;
}

#[tokio::test]
async fn model_based_check_over_more_seeds() {
    for seed in 1..=8 {
        conformance::model_based(fresh().await, seed, 150).await;
    }
}
