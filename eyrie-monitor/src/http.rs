//! `http_request` checks: one pooled client per TLS and redirect setting,
//! the guard in its resolver and its redirect policy, latency graded
//! against the monitor's thresholds.
//!
//! Latency is the time to the response headers, or to the end of the body
//! when body text is checked. A request that takes longer than its time-out
//! is an `error`, as is a status not expected, missing body text, a refused
//! target, a TLS failure or too many redirects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eyrie_core::model::monitoring::grade_rising;
use eyrie_core::{CheckOutcome, HttpMethod, HttpOptions};

use crate::guard::{GuardedResolver, NetworkPolicy, check_host, url_host};

/// Which client a request needs: clients differ in these settings only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ClientKey {
    verify_tls: bool,
    max_redirects: u8,
}

/// The pooled clients, built on first use and kept (connections are reused).
#[derive(Debug)]
pub(crate) struct Clients {
    policy: NetworkPolicy,
    roots: Vec<reqwest::Certificate>,
    built: Mutex<HashMap<ClientKey, reqwest::Client>>,
}

/// What went wrong, with every cause (the guard's reason is a cause).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() { "timed out".to_owned() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

impl Clients {
    pub(crate) fn new(policy: NetworkPolicy, roots: Vec<reqwest::Certificate>) -> Self {
        Clients { policy, roots, built: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn policy(&self) -> &NetworkPolicy {
        &self.policy
    }

    /// The client for `verify_tls` and `max_redirects`.
    pub(crate) fn client(&self, verify_tls: bool, max_redirects: u8) -> Result<reqwest::Client, String> {
        let key = ClientKey { verify_tls, max_redirects };
        let mut built = self.built.lock().map_err(|_| "the client cache is poisoned".to_owned())?;
        if let Some(client) = built.get(&key) {
            return Ok(client.clone());
        }
        let policy = self.policy;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > usize::from(max_redirects) {
                return attempt.error(format!("more than {max_redirects} redirects"));
            }
            if !matches!(attempt.url().scheme(), "http" | "https") {
                return attempt.error("a redirect left http(s)".to_owned());
            }
            match check_host(&policy, url_host::of(attempt.url())) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(why),
            }
        });
        let mut builder = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(policy)))
            .redirect(redirects)
            // A proxy would connect where the guard never looked.
            .no_proxy()
            .tls_info(true)
            .danger_accept_invalid_certs(!verify_tls)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("eyrie-monitor/", env!("CARGO_PKG_VERSION")));
        for root in &self.roots {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder.build().map_err(|e| format!("the HTTP client could not be built: {}", describe(&e)))?;
        built.insert(key, client.clone());
        Ok(client)
    }
}

fn method(m: HttpMethod) -> reqwest::Method {
    match m {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Options => reqwest::Method::OPTIONS,
    }
}

/// Parses a target URL and passes it through the guard.
pub(crate) fn guarded_url(policy: &NetworkPolicy, url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("not an http(s) URL: {}", parsed.scheme()));
    }
    check_host(policy, url_host::of(&parsed))?;
    Ok(parsed)
}

/// One `http_request` check.
pub(crate) async fn check(
    clients: &Clients,
    url: &str,
    options: &HttpOptions,
    warning: Option<u64>,
    error: Option<u64>,
) -> CheckOutcome {
    let url = match guarded_url(clients.policy(), url) {
        Ok(url) => url,
        Err(why) => return CheckOutcome::error(None, why),
    };
    let client = match clients.client(options.verify_tls, options.max_redirects) {
        Ok(client) => client,
        Err(why) => return CheckOutcome::unknown(why),
    };
    let timeout = Duration::from_millis(options.timeout_ms);
    let started = Instant::now();
    let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let sent = client.request(method(options.method), url).timeout(timeout).send().await;
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.is_timeout() => {
            return CheckOutcome::error(Some(elapsed()), format!("no answer within {} ms", options.timeout_ms));
        }
        Err(e) => return CheckOutcome::error(None, describe(&e)),
    };
    let status = response.status().as_u16();
    let mut latency = elapsed();
    if !options.expected_statuses.contains(&status) {
        return CheckOutcome::error(
            Some(latency),
            format!("status {status}, expected {:?}", options.expected_statuses),
        );
    }
    if let Some(text) = &options.body_contains {
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) if e.is_timeout() => {
                return CheckOutcome::error(Some(elapsed()), format!("no answer within {} ms", options.timeout_ms));
            }
            Err(e) => {
                return CheckOutcome::error(Some(elapsed()), format!("the body could not be read: {}", describe(&e)));
            }
        };
        latency = elapsed();
        if !body.contains(text.as_str()) {
            return CheckOutcome::error(Some(latency), format!("status {status}, but the body lacks {text:?}"));
        }
    }
    let state = grade_rising(latency, warning, error);
    CheckOutcome::new(state, Some(latency), format!("status {status} in {latency} ms"))
}
