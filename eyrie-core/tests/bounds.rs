//! SPEC §9 — every field a tenant fills has a documented bound, and bad
//! input is refused with a typed `Invalid` error that changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::sync::Arc;

use eyrie_core::jobs::MAX_JOB_PARAMETERS;
use eyrie_core::service::{DeploymentPatch, NewDatasource};
use eyrie_core::storage::Store;
use eyrie_core::{
    CronExpr, DataType, DatasourceUsage, ErrorKind, GitUrl, JobAction, MAX_PARAMS, MAX_PARAMS_BYTES, Name, Settings,
    Url,
};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::typical_tenant;

fn params(entries: usize, value_len: usize) -> BTreeMap<String, String> {
    (0..entries).map(|i| (format!("k{i}"), "v".repeat(value_len))).collect()
}

#[tokio::test]
async fn every_field_a_tenant_fills_has_a_bound_and_is_refused_as_invalid_changing_nothing() {
    let store = Arc::new(MemoryStore::new());
    let t = typical_tenant(store.clone()).await.unwrap();
    let engine = eyrie_testkit::fixtures::recording_engine(&t);
    let before = store.dump().await.unwrap();

    let too_many = Settings::default().with_params(params(MAX_PARAMS + 1, 1));
    let too_big = Settings::default().with_params(params(10, MAX_PARAMS_BYTES / 10 + 1));
    let control = Settings::default().with_params(BTreeMap::from([("k".into(), "a\u{0}b".into())]));
    for (what, settings) in [("entries", too_many), ("bytes", too_big), ("control characters", control)] {
        let patch = DeploymentPatch::default().with_settings(settings.into());
        let e = t.eyrie.update_deployment(t.owner, t.sandbox.id, patch).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "params over the bound ({what}): {e}");
    }
    let ok = Settings::default().with_params(params(MAX_PARAMS, 16));
    ok.validate().expect("at the bound is fine");

    let e = engine
        .submit(t.owner, t.sandbox.id, JobAction::Initialize, params(MAX_JOB_PARAMETERS + 1, 1))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "job parameters: {e}");

    for bucket in ["ab", "Upper", "-lead", &"b".repeat(64), "under_score"] {
        let ds = NewDatasource::new("Backups".parse().unwrap(), DataType::S3like, DatasourceUsage::RemoteBackup)
            .with_bucket(bucket);
        let e = t.eyrie.create_datasource(t.admin, t.project.id, ds).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "bucket {bucket:?}: {e}");
    }
    assert_eq!(store.dump().await.unwrap(), before, "nothing refused was written");

    // The newtypes bound themselves when parsed.
    assert!(format!("https://git.example/{}", "a".repeat(2048)).parse::<GitUrl>().is_err());
    assert!(format!("https://s3.example/{}", "a".repeat(2048)).parse::<Url>().is_err());
    assert!(format!("0 0 * * *{}", " ".repeat(300)).parse::<CronExpr>().is_err());
    assert!("n".repeat(129).parse::<Name>().is_err());
}
