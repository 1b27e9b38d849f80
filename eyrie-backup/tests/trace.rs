//! Backups are observable and no secret reaches a trace: every span and
//! event at TRACE level is captured while a backup is taken, verified in a
//! real S3 server, listed and signed for download. Alone in its test
//! binary: a thread-local subscriber races with other tests' callsite
//! registration (tracing caches interest per callsite).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::SECRET_ACCESS_KEY;
use common::service_rig::{rig, right_credentials};

#[tokio::test(flavor = "current_thread")]
async fn a_backup_and_its_download_urls_are_traced_without_a_credential_or_a_signature() {
    let (_guard, captured) = eyrie_testkit::trace::capture();

    let g = rig(&right_credentials()).await;
    let b = g.take(g.t.sandbox.id).await;
    let links = g.eyrie.download_urls(g.t.developer, b.id, Some(Duration::from_secs(60))).await.unwrap();
    let signature = links[0].url.split("X-Amz-Signature=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    assert!(signature.len() >= 32, "a real signature: {signature}");

    let text = captured.text();
    for needle in ["job", "step", "executor", "op=\"backup\"", "backup inspect", "backup verified", "download_urls"] {
        assert!(text.contains(needle), "no {needle} in the trace:\n{text}");
    }
    assert!(!text.contains(SECRET_ACCESS_KEY), "the secret access key reached the trace");
    assert!(!text.contains(&signature), "a download URL's signature reached the trace");
}
