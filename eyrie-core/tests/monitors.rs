//! SPEC §6 monitors, the service side: who may create, edit, read and
//! delete them; every bound refused with a typed error and nothing written;
//! the default monitor of a scope with `monitor` set; logs by time range,
//! paged, and uptime.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use eyrie_core::service::{LogQuery, MonitorPatch, NewMonitor};
use eyrie_core::storage::Store;
use eyrie_core::{Clock, ErrorKind, HttpOptions, MonitorId, MonitorState, MonitorType, Timestamp, Url};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, typical_tenant};

async fn tenant() -> (Tenant, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (typical_tenant(store.clone()).await.unwrap(), store)
}

fn url(s: &str) -> Url {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_scope_with_monitor_set_gives_new_deployments_an_http_monitor_on_their_host() {
    let (t, _) = tenant().await;
    let shop = t.eyrie.list_monitors(t.viewer, t.shop.id).await.unwrap();
    assert_eq!(shop.len(), 1);
    assert_eq!(shop[0].monitor_type, MonitorType::HttpRequest);
    assert_eq!(shop[0].target, "https://shop.acme.example/web/health", "odoo: /web/health on the effective host");
    assert_eq!(shop[0].state, MonitorState::Unknown);
    assert_eq!(shop[0].interval_seconds, 60);
    assert!(t.eyrie.list_monitors(t.viewer, t.preview.id).await.unwrap().is_empty(), "stage has monitor unset");
}

#[tokio::test]
async fn creating_and_editing_a_monitor_needs_role_to_admin_reading_needs_user() {
    let (t, _) = tenant().await;
    // prod's role_to_admin is admin: a developer may not, an admin may.
    let refused = t.eyrie.create_monitor(t.developer, t.shop.id, NewMonitor::certificate()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    let cert = t.eyrie.create_monitor(t.admin, t.shop.id, NewMonitor::certificate()).await.unwrap();
    assert_eq!((cert.target.as_str(), cert.warning, cert.error), ("https://shop.acme.example", Some(14), Some(3)));
    // dev's role_to_admin is developer.
    t.eyrie.create_monitor(t.developer, t.sandbox.id, NewMonitor::resource()).await.unwrap();

    let patch = MonitorPatch::default().with_interval_seconds(300);
    let refused = t.eyrie.update_monitor(t.developer, cert.id, patch.clone()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    assert_eq!(t.eyrie.update_monitor(t.admin, cert.id, patch).await.unwrap().interval_seconds, 300);

    assert_eq!(t.eyrie.get_monitor(t.viewer, cert.id).await.unwrap().interval_seconds, 300, "a user reads");
    assert_eq!(t.eyrie.list_monitors(t.viewer, t.shop.id).await.unwrap().len(), 2);

    assert_eq!(t.eyrie.delete_monitor(t.developer, cert.id).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    t.eyrie.delete_monitor(t.admin, cert.id).await.unwrap();
    assert_eq!(t.eyrie.get_monitor(t.admin, cert.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_typed_error_and_writes_nothing() {
    let (t, store) = tenant().await;
    let before = store.dump().await.unwrap();
    let short = NewMonitor::http().with_interval_seconds(9);
    let backwards = NewMonitor::http().with_warning(5_000).with_error(1_000);
    let cert_backwards = NewMonitor::certificate().with_warning(3).with_error(14);
    let ftp = NewMonitor::http().with_url(url("ftp://shop.acme.example/"));
    let plain_cert = NewMonitor::certificate().with_url(url("http://shop.acme.example"));
    let no_status = NewMonitor::http().with_http(HttpOptions::default().with_expected_statuses(vec![]));
    let too_many_redirects = NewMonitor::http().with_http(HttpOptions::default().with_max_redirects(11));
    let fast_timeout = NewMonitor::http().with_http(HttpOptions::default().with_timeout_ms(99));
    for (what, input) in [
        ("interval below 10 s", short),
        ("error below warning", backwards),
        ("certificate error above warning", cert_backwards),
        ("a URL that is not http(s)", ftp),
        ("a certificate monitor on http", plain_cert),
        ("no expected status", no_status),
        ("more than 10 redirects", too_many_redirects),
        ("a time-out below 100 ms", fast_timeout),
    ] {
        let e = t.eyrie.create_monitor(t.admin, t.shop.id, input).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{what}: {e}");
    }
    let monitor = t.eyrie.list_monitors(t.admin, t.shop.id).await.unwrap()[0].id;
    let mut before_patch = store.dump().await.unwrap();
    assert_eq!(before, before_patch, "refused creates wrote nothing");
    let patch = MonitorPatch::default().with_error(10);
    let e = t.eyrie.update_monitor(t.admin, monitor, patch).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "an edit that puts the error below the warning: {e}");
    let patch = MonitorPatch::default().with_interval_seconds(5);
    assert_eq!(t.eyrie.update_monitor(t.admin, monitor, patch).await.unwrap_err().kind(), ErrorKind::Invalid);
    before_patch = store.dump().await.unwrap();
    assert_eq!(before, before_patch, "refused edits wrote nothing");
}

#[tokio::test]
async fn a_monitor_on_another_projects_deployment_is_answered_as_missing() {
    let (t, store) = tenant().await;
    let before = store.dump().await.unwrap();
    // root is a platform administrator but no member of acme.
    let e = t.eyrie.create_monitor(t.root, t.shop.id, NewMonitor::http()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let missing = t.eyrie.create_monitor(t.root, eyrie_core::DeploymentId(999_999), NewMonitor::http()).await;
    let hex = |id: u64| format!("{id:016x}");
    assert_eq!(
        e.to_string().replace(&hex(t.shop.id.0), "X"),
        missing.unwrap_err().to_string().replace(&hex(999_999), "X"),
        "an existing deployment of another project is answered like a missing one"
    );
    let monitor = t.eyrie.list_monitors(t.admin, t.shop.id).await.unwrap()[0].id;
    for e in [
        t.eyrie.get_monitor(t.root, monitor).await.unwrap_err(),
        t.eyrie.update_monitor(t.root, monitor, MonitorPatch::default()).await.unwrap_err(),
        t.eyrie.delete_monitor(t.root, monitor).await.unwrap_err(),
        t.eyrie.monitor_uptime(t.root, monitor, 86_400).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(
            e.to_string().contains(&format!("{:016x}", monitor.0)),
            "names the monitor asked for, nothing else: {e}"
        );
    }
    assert_eq!(store.dump().await.unwrap(), before, "nothing written");
}

#[tokio::test]
async fn logs_are_read_by_time_range_in_pages_and_uptime_counts_up_results() {
    let (t, _) = tenant().await;
    let monitor: MonitorId = t.eyrie.list_monitors(t.admin, t.shop.id).await.unwrap()[0].id;
    let start = t.clock.now();
    let states = [MonitorState::Ok, MonitorState::Ok, MonitorState::Warning, MonitorState::Error, MonitorState::Ok];
    let mut written = Vec::new();
    // Five checks 20 minutes apart: the range spans several hours of index reads.
    for state in states {
        let log = t.eyrie.record_monitor_log(t.admin, monitor, state, Some(10), "checked").await.unwrap();
        written.push(log.id);
        t.clock.advance_seconds(20 * 60);
    }
    let end = t.clock.now();
    let mut query = LogQuery::between(start, end, 2);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = t.eyrie.monitor_logs(t.viewer, monitor, query).await.unwrap();
        pages += 1;
        assert!(page.logs.len() <= 2);
        seen.extend(page.logs.iter().map(|l| l.id));
        match page.next {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
        assert!(pages < 10, "paging ends");
    }
    assert_eq!(seen, written, "every log once, oldest first");
    assert_eq!(pages, 3);
    let middle =
        LogQuery::between(Timestamp(start.as_millis() + 30 * 60_000), Timestamp(start.as_millis() + 70 * 60_000), 10);
    let page = t.eyrie.monitor_logs(t.viewer, monitor, middle).await.unwrap();
    assert_eq!(page.logs.iter().map(|l| l.id).collect::<Vec<_>>(), written[2..4].to_vec(), "only the range");
    assert_eq!(
        t.eyrie.monitor_logs(t.viewer, monitor, LogQuery::between(start, end, 0)).await.unwrap_err().kind(),
        ErrorKind::Invalid
    );

    let uptime = t.eyrie.monitor_uptime(t.viewer, monitor, 86_400).await.unwrap();
    assert_eq!((uptime.ok, uptime.warning, uptime.error), (3, 1, 1));
    assert_eq!(uptime.ratio(), Some(0.8), "ok and warning are up");
    let recent = t.eyrie.monitor_uptime(t.viewer, monitor, 30 * 60).await.unwrap();
    assert_eq!((recent.ok, recent.error), (1, 0), "the window counts back from now");
}

#[tokio::test]
async fn a_deployment_has_at_most_sixteen_monitors() {
    let (t, _) = tenant().await;
    let had = t.eyrie.list_monitors(t.admin, t.shop.id).await.unwrap().len();
    for _ in had..eyrie_core::model::monitoring::MAX_MONITORS_PER_DEPLOYMENT as usize {
        t.eyrie.create_monitor(t.admin, t.shop.id, NewMonitor::resource()).await.unwrap();
    }
    let e = t.eyrie.create_monitor(t.admin, t.shop.id, NewMonitor::resource()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    assert_eq!(t.eyrie.list_monitors(t.admin, t.shop.id).await.unwrap().len(), 16);
}
