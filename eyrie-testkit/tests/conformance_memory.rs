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

mod generated {
    use super::*;
    use eyrie_testkit::strategies;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn random_operation_sequences_agree_with_the_model(seed in strategies::operation_seed()) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(conformance::model_based(Arc::new(MemoryStore::new()), seed, 80));
        }

        #[test]
        fn generated_settings_are_valid_and_round_trip(settings in strategies::settings()) {
            prop_assert!(settings.validate().is_ok());
            let json = serde_json::to_string(&settings).unwrap();
            prop_assert_eq!(serde_json::from_str::<eyrie_core::Settings>(&json).unwrap(), settings);
        }
    }
}
