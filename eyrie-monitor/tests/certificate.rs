//! `certificate` checks against a loopback TLS server whose certificate a
//! test CA made: days left at each threshold, a certificate near expiry, an
//! untrusted one; and TLS verification of HTTP checks, on by default.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use eyrie_core::jobs::monitoring::{CheckTarget, MonitorChecker};
use eyrie_core::{HttpOptions, MonitorState, Timestamp};
use eyrie_monitor::{NetChecker, NetworkPolicy, not_after};

fn trusting(certs: &support::Certs) -> NetChecker {
    NetChecker::with_roots(NetworkPolicy::strict().allow_loopback(), certs.ca_pem.as_bytes()).unwrap()
}

fn cert_target(addr: std::net::SocketAddr) -> CheckTarget {
    CheckTarget::Certificate { url: format!("https://{addr}"), warning: Some(14), error: Some(3) }
}

#[tokio::test]
async fn days_left_are_graded_at_each_threshold() {
    let certs = support::certs(30);
    let addr = support::tls_server(&certs).await;
    let checker = trusting(&certs);
    let expires = not_after(&certs.cert).unwrap();
    let days_before = |days: i64| Timestamp::from_unix_seconds(expires - days * 86_400);
    for (days, want) in
        [(15, MonitorState::Ok), (14, MonitorState::Warning), (4, MonitorState::Warning), (3, MonitorState::Error)]
    {
        let out = checker.check(&cert_target(addr), days_before(days)).await;
        assert_eq!(out.state, want, "{days} days left: {}", out.message);
        assert_eq!(out.value, Some(days as u64));
    }
}

#[tokio::test]
async fn a_certificate_near_expiry_is_an_error_now() {
    let certs = support::certs(2);
    let addr = support::tls_server(&certs).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let out = trusting(&certs).check(&cert_target(addr), Timestamp(now)).await;
    assert_eq!(out.state, MonitorState::Error, "{}", out.message);
    assert!(out.value.is_some_and(|d| d <= 2), "{:?}", out.value);
}

#[tokio::test]
async fn an_untrusted_certificate_is_an_error_and_http_checks_verify_by_default() {
    let certs = support::certs(30);
    let addr = support::tls_server(&certs).await;
    let stranger = NetChecker::new(NetworkPolicy::strict().allow_loopback());
    let out = stranger.check(&cert_target(addr), Timestamp(0)).await;
    assert_eq!(out.state, MonitorState::Error, "{}", out.message);
    assert!(out.message.contains("no trusted TLS answer"), "{}", out.message);

    let http = |verify_tls| CheckTarget::Http {
        url: format!("https://{addr}/"),
        options: HttpOptions::default().with_verify_tls(verify_tls),
        warning: None,
        error: None,
    };
    assert_eq!(stranger.check(&http(true), Timestamp(0)).await.state, MonitorState::Error, "verified by default");
    let unverified = stranger.check(&http(false), Timestamp(0)).await;
    assert_eq!(unverified.state, MonitorState::Ok, "{}", unverified.message);
    assert_eq!(trusting(&certs).check(&http(true), Timestamp(0)).await.state, MonitorState::Ok, "a trusted CA");
}
