//! Monitor checks for Eyrie (SPEC §6): the [`MonitorChecker`] that does the
//! I/O the pure core must not.
//!
//! - `http_request`: a request through a pooled [`reqwest`] client (rustls),
//!   graded by status, body text and latency ([`http`](crate::NetChecker)).
//! - `certificate`: the days left on the host's TLS certificate.
//! - `resource`: pod metrics through the cluster executor given with
//!   [`NetChecker::with_executor`], graded by
//!   [`eyrie_core::jobs::monitoring::check_resources`].
//!
//! Every target passes the private-network guard ([`NetworkPolicy`]): by
//! default loopback, link-local, private ranges and cluster-internal names
//! are refused, and a name is resolved once, its addresses checked, and the
//! first one connected to.
//!
//! ```no_run
//! # async fn run(eyrie: eyrie_core::Eyrie, engine: eyrie_core::Engine) {
//! use std::sync::Arc;
//! use eyrie_core::jobs::{Monitoring, MonitoringConfig, TracingHook};
//! use eyrie_monitor::{NetChecker, NetworkPolicy};
//!
//! let checker = Arc::new(NetChecker::new(NetworkPolicy::strict()));
//! let monitoring = Monitoring::new(eyrie, checker, Arc::new(TracingHook), MonitoringConfig::default());
//! let engine = engine.with_monitoring(Arc::new(monitoring));
//! # let _ = engine;
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod certificate;
mod guard;
mod http;

use std::sync::Arc;

use async_trait::async_trait;
use eyrie_core::executor::ClusterExecutor;
use eyrie_core::jobs::monitoring::{CheckTarget, MonitorChecker, check_resources};
use eyrie_core::{CheckOutcome, Timestamp};

pub use certificate::{days_left, not_after};
pub use guard::NetworkPolicy;

/// Checks HTTP targets and certificates over the network, and resources
/// through a cluster executor.
#[derive(Debug)]
pub struct NetChecker {
    clients: http::Clients,
    executor: Option<Arc<dyn ClusterExecutor>>,
}

impl NetChecker {
    /// A checker under `policy`, trusting the usual web roots.
    pub fn new(policy: NetworkPolicy) -> Self {
        NetChecker { clients: http::Clients::new(policy, Vec::new()), executor: None }
    }

    /// A checker that also trusts the PEM certificates in `pem` (a private CA).
    pub fn with_roots(policy: NetworkPolicy, pem: &[u8]) -> eyrie_core::Result<Self> {
        let roots = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| eyrie_core::Error::Backend {
            message: format!("the root certificates could not be read: {}", http::describe(&e)),
            retryable: false,
        })?;
        Ok(NetChecker { clients: http::Clients::new(policy, roots), executor: None })
    }

    /// Resource checks read pod metrics through `executor`.
    pub fn with_executor(mut self, executor: Arc<dyn ClusterExecutor>) -> Self {
        self.executor = Some(executor);
        self
    }
}

#[async_trait]
impl MonitorChecker for NetChecker {
    async fn check(&self, target: &CheckTarget, now: Timestamp) -> CheckOutcome {
        match target {
            CheckTarget::Http { url, options, warning, error } => {
                http::check(&self.clients, url, options, *warning, *error).await
            }
            CheckTarget::Certificate { url, warning, error } => {
                certificate::check(&self.clients, url, *warning, *error, now).await
            }
            CheckTarget::Resource { clusters, deployment, warning, error } => match &self.executor {
                Some(executor) => check_resources(executor.as_ref(), clusters, deployment, *warning, *error).await,
                None => CheckOutcome::unknown("no cluster executor is configured for resource checks"),
            },
            _ => CheckOutcome::unknown("this kind of check is not supported"),
        }
    }
}
