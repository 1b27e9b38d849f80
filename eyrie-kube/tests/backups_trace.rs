//! Backup and restore calls run in spans that name them, and no credential
//! reaches a trace. Alone in its test binary: a thread-local subscriber
//! races with other tests' callsite registration (tracing caches interest
//! per callsite), which made this test flaky beside the others.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eyrie_core::GroupType;
use eyrie_core::executor::ClusterExecutor;
use eyrie_kube::Kind;
use eyrie_kube::backups::pgo;
use serde_json::json;
use support::conversation::{live_cluster, missing, path, run};
use support::server::Exchange;
use support::{SECRET_KEY, access, deployment, source, target};

#[tokio::test(flavor = "current_thread")]
async fn each_call_runs_in_a_span_that_names_it_and_no_credential_is_traced() {
    let (_guard, captured) = eyrie_testkit::trace::capture();

    let d = deployment(GroupType::Pgo, "db", "main", 78);
    let t = target(&d, 0x2a);
    let cluster = live_cluster(&d);
    let cluster_path = path(Kind::PostgresCluster, &d, &cluster.name);
    let script = vec![
        Exchange::get(&cluster_path, 200, cluster.body.clone()),
        Exchange::patch(&path(Kind::Secret, &d, "db-main-26-backup-s3"), 200, json!({})),
        Exchange::patch(&cluster_path, 200, json!({})),
    ];
    let (result, _) = run(script, async |x| x.backup(&access(), &d, &t).await).await;
    result.unwrap();
    let s = source(&d, 0x2a, 0x99, &pgo::repo_location(&t.deployment_prefix));
    let (result, _) =
        run(vec![Exchange::get(&cluster_path, 404, missing())], async |x| x.restore(&access(), &d, &s).await).await;
    result.unwrap_err();

    let text = captured.text();
    let backup_span = text.lines().find(|l| l.contains("backup{")).unwrap_or_else(|| panic!("no backup span:\n{text}"));
    assert!(backup_span.contains("backup=bak-000000000000002a"), "{backup_span}");
    assert!(backup_span.contains(&format!("deployment={}", d.deployment_id)), "{backup_span}");
    assert!(backup_span.contains("cluster=cluster-1"), "{backup_span}");
    let restore_span =
        text.lines().find(|l| l.contains("restore{")).unwrap_or_else(|| panic!("no restore span:\n{text}"));
    assert!(restore_span.contains("run=job-0000000000000099"), "{restore_span}");
    assert!(!text.contains(SECRET_KEY), "the secret key reached the trace");
    assert!(!text.contains(support::ACCESS_KEY), "the access key reached the trace");
    assert!(!text.contains("s3.conf"), "a request body reached the trace");
}
