//! `http_request` checks against a real loopback server through the real
//! client: each threshold at its boundary, statuses, body text, time-outs,
//! redirects, connection reuse, and targets refused as private.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::net::SocketAddr;

use eyrie_core::jobs::monitoring::{CheckTarget, MonitorChecker};
use eyrie_core::{CheckOutcome, HttpOptions, MonitorState, Timestamp};
use eyrie_monitor::{NetChecker, NetworkPolicy};

fn loopback() -> NetChecker {
    NetChecker::new(NetworkPolicy::strict().allow_loopback())
}

async fn check(
    checker: &NetChecker,
    url: String,
    options: HttpOptions,
    w: Option<u64>,
    e: Option<u64>,
) -> CheckOutcome {
    let target = CheckTarget::Http { url, options, warning: w, error: e };
    checker.check(&target, Timestamp(0)).await
}

fn root(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

#[tokio::test]
async fn latency_thresholds_are_reached_at_their_value() {
    let (addr, control) = support::http_server().await;
    let checker = loopback();
    let fast = check(&checker, root(addr), HttpOptions::default(), Some(2_000), Some(10_000)).await;
    assert_eq!(fast.state, MonitorState::Ok, "{}", fast.message);
    assert!(fast.value.is_some_and(|ms| ms < 2_000));
    // The server waits 200 ms: the latency is at least that, so a warning
    // threshold of exactly 200 is reached, and one of 5 s is not.
    control.set_delay_ms(200);
    let at_warning = check(&checker, root(addr), HttpOptions::default(), Some(200), Some(10_000)).await;
    assert_eq!(at_warning.state, MonitorState::Warning, "{}", at_warning.message);
    assert!(at_warning.value.unwrap() >= 200);
    let below = check(&checker, root(addr), HttpOptions::default(), Some(5_000), Some(10_000)).await;
    assert_eq!(below.state, MonitorState::Ok, "{}", below.message);
    let at_error = check(&checker, root(addr), HttpOptions::default(), Some(100), Some(200)).await;
    assert_eq!(at_error.state, MonitorState::Error, "{}", at_error.message);
}

#[tokio::test]
async fn statuses_and_body_text_decide_before_latency() {
    let (addr, control) = support::http_server().await;
    let checker = loopback();
    control.set_status(503);
    let down = check(&checker, root(addr), HttpOptions::default(), None, None).await;
    assert_eq!(down.state, MonitorState::Error);
    assert!(down.message.contains("503"), "{}", down.message);
    let expected = HttpOptions::default().with_expected_statuses(vec![503]);
    assert_eq!(check(&checker, root(addr), expected, None, None).await.state, MonitorState::Ok);
    control.set_status(200);
    let wants = |text: &str| HttpOptions::default().with_body_contains(text);
    assert_eq!(check(&checker, root(addr), wants("healthy"), None, None).await.state, MonitorState::Ok);
    let missing = check(&checker, root(addr), wants("database ok"), None, None).await;
    assert_eq!(missing.state, MonitorState::Error);
    assert!(missing.message.contains("database ok"), "{}", missing.message);
}

#[tokio::test]
async fn a_request_longer_than_its_time_out_is_an_error() {
    let (addr, control) = support::http_server().await;
    control.set_delay_ms(3_000);
    let options = HttpOptions::default().with_timeout_ms(300);
    let slow = check(&loopback(), root(addr), options, None, None).await;
    assert_eq!(slow.state, MonitorState::Error);
    assert!(slow.message.contains("no answer within 300 ms"), "{}", slow.message);
    assert!(slow.value.is_some_and(|ms| (300..3_000).contains(&ms)), "cut off at the time-out: {:?}", slow.value);
}

#[tokio::test]
async fn redirects_are_followed_up_to_their_bound() {
    let (addr, _) = support::http_server().await;
    let checker = loopback();
    let hops = |n: u32| format!("http://{addr}/hop/{n}");
    let two = HttpOptions::default().with_max_redirects(3);
    // /hop/2 redirects three times: /hop/1, /hop/0, /.
    assert_eq!(check(&checker, hops(2), two.clone(), None, None).await.state, MonitorState::Ok);
    let too_far = check(&checker, hops(3), two, None, None).await;
    assert_eq!(too_far.state, MonitorState::Error);
    assert!(too_far.message.contains("more than 3 redirects"), "{}", too_far.message);
    let none = HttpOptions::default().with_max_redirects(0);
    assert_eq!(check(&checker, hops(0), none, None, None).await.state, MonitorState::Error);
}

#[tokio::test]
async fn connections_are_reused_between_checks() {
    let (addr, control) = support::http_server().await;
    let checker = loopback();
    for _ in 0..3 {
        assert_eq!(check(&checker, root(addr), HttpOptions::default(), None, None).await.state, MonitorState::Ok);
    }
    assert_eq!(control.requests(), 3);
    assert_eq!(control.connections(), 1, "three checks, one connection");
}

#[tokio::test]
async fn private_targets_are_refused_unless_the_program_allows_them() {
    let (addr, control) = support::http_server().await;
    let strict = NetChecker::new(NetworkPolicy::strict());
    for url in [
        root(addr),
        format!("http://localhost:{}/", addr.port()),
        "http://postgres.default.svc.cluster.local/".to_owned(),
        "http://[::1]/".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
    ] {
        let refused = check(&strict, url.clone(), HttpOptions::default(), None, None).await;
        assert_eq!(refused.state, MonitorState::Error, "{url}");
        assert!(refused.message.contains("refused"), "{url}: {}", refused.message);
    }
    assert_eq!(control.requests(), 0, "nothing reached the server");
    // Loopback allowed does not allow a redirect into a private range.
    let bounced = check(&loopback(), format!("http://{addr}/to-private"), HttpOptions::default(), None, None).await;
    assert_eq!(bounced.state, MonitorState::Error);
    assert!(bounced.message.contains("10.0.0.1 is private"), "{}", bounced.message);
    // A name resolves once through the guard; localhost is loopback.
    let checker = loopback();
    let named = check(&checker, format!("http://localhost:{}/", addr.port()), HttpOptions::default(), None, None);
    assert_eq!(named.await.state, MonitorState::Ok);
}

#[tokio::test]
async fn other_schemes_are_refused() {
    let out = check(&loopback(), "ftp://127.0.0.1/".into(), HttpOptions::default(), None, None).await;
    assert_eq!(out.state, MonitorState::Error);
    assert!(out.message.contains("not an http(s) URL"), "{}", out.message);
}
