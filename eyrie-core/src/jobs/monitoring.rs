//! Running monitor checks (SPEC §6, §7): the [`MonitorChecker`] an I/O
//! crate implements (`eyrie-monitor` for HTTP and certificates), the
//! [`MonitorHook`] an embedding program implements to be told of changes of
//! state, and [`Monitoring`], which the scheduler uses to launch due checks.
//!
//! How a tick runs checks:
//! - Due monitors come from a time index ([`Index::MonitorsDue`]), stale
//!   ones from another ([`Index::MonitorsStale`]): the cost follows what is
//!   due, not the number of monitors.
//! - Each due monitor is **claimed** first: its next check moves one
//!   interval on, in a revision-checked write, so a second tick at the same
//!   instant (or another process) finds nothing to launch.
//! - The check itself runs in a task outside the tick, at most
//!   [`MonitoringConfig::max_concurrent_checks`] at once, each under a time
//!   limit, so a slow target holds up neither the tick nor other checks.
//! - Its result is written by [`Eyrie::record_check`](crate::Eyrie::record_check)
//!   (damping, audit); a change of state is then handed to the hook, once.
//! - Only deployments in `deploy` are checked; a dropped deployment's
//!   monitors stop. A monitor without results for three intervals goes
//!   `unknown` (also handed to the hook).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::executor::{ClusterAccess, ClusterExecutor, DesiredDeployment};
use crate::ids::MonitorId;
use crate::lifecycle::LifecycleState;
use crate::model::monitoring::{CheckOutcome, HttpOptions, StateChange, grade_rising};
use crate::model::{Deployment, DeploymentGroup, Monitor, MonitorState, MonitorType, Project, Scope};
use crate::permission::{Actor, Principal};
use crate::service::Eyrie;
use crate::storage::{Index, Store, StoreExt, Transaction, Versioned};

/// What one check looks at, resolved from a monitor and its deployment.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CheckTarget {
    /// An HTTP request.
    Http {
        /// The URL.
        url: String,
        /// Method, statuses, time-out, body text, TLS, redirects.
        options: HttpOptions,
        /// Latency warning threshold (ms).
        warning: Option<u64>,
        /// Latency error threshold (ms).
        error: Option<u64>,
    },
    /// The TLS certificate of `https://host[:port]`.
    Certificate {
        /// The URL whose host's certificate is read.
        url: String,
        /// Warning at this many days left or fewer.
        warning: Option<u64>,
        /// Error at this many days left or fewer.
        error: Option<u64>,
    },
    /// The deployment's pods against their limits.
    Resource {
        /// The clusters it runs on, opened.
        clusters: Vec<ClusterAccess>,
        /// The deployment, with its effective limits.
        deployment: Box<DesiredDeployment>,
        /// Warning at this percentage of a limit.
        warning: Option<u64>,
        /// Error at this percentage of a limit.
        error: Option<u64>,
    },
}

/// Performs checks. Implemented outside the pure core (it does I/O).
///
/// # Contract
///
/// - A check never fails: what went wrong is its outcome (`error` for a
///   target that answered wrongly or not at all, `unknown` when the check
///   itself could not be made), with a short message naming no secret.
/// - It bounds its own time (the HTTP time-out); [`Monitoring`] also cuts it
///   off after a limit.
/// - `now` is the injected clock's instant, for what depends on the date
///   (days left on a certificate).
#[async_trait]
pub trait MonitorChecker: Send + Sync + std::fmt::Debug {
    /// Checks `target`.
    async fn check(&self, target: &CheckTarget, now: Timestamp) -> CheckOutcome;
}

/// Told of every change of a monitor's state, once, after it is stored:
/// the embedding program sends mail or chat messages from here.
#[async_trait]
pub trait MonitorHook: Send + Sync + std::fmt::Debug {
    /// A monitor's state changed.
    async fn state_changed(&self, change: &StateChange);
}

/// A hook that emits one `tracing` event per change (warn for `error`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingHook;

#[async_trait]
impl MonitorHook for TracingHook {
    async fn state_changed(&self, c: &StateChange) {
        let (monitor, deployment) = (c.monitor_id.to_string(), c.deployment_id.to_string());
        if c.to == MonitorState::Error {
            tracing::warn!(%monitor, %deployment, from = ?c.from, to = ?c.to, message = %c.message, "monitor state changed");
        } else {
            tracing::info!(%monitor, %deployment, from = ?c.from, to = ?c.to, message = %c.message, "monitor state changed");
        }
    }
}

/// A Kubernetes quantity in thousandths of its unit (`500m` → 500, `1` →
/// 1000, `1Ki` → 1 024 000, `250000n` → 0.25), as the metrics API writes
/// them (`n` and `u` included). `None` when it is not a quantity.
pub fn quantity_milli(s: &str) -> Option<u128> {
    const SUFFIXES: [(&str, u128, u128); 15] = [
        ("Ki", 1 << 10, 1),
        ("Mi", 1 << 20, 1),
        ("Gi", 1 << 30, 1),
        ("Ti", 1 << 40, 1),
        ("Pi", 1 << 50, 1),
        ("Ei", 1 << 60, 1),
        ("n", 1, 1_000_000_000),
        ("u", 1, 1_000_000),
        ("m", 1, 1_000),
        ("k", 1_000, 1),
        ("M", 1_000_000, 1),
        ("G", 1_000_000_000, 1),
        ("T", 1_000_000_000_000, 1),
        ("P", 1_000_000_000_000_000, 1),
        ("E", 1_000_000_000_000_000_000, 1),
    ];
    let (number, mul, div) =
        SUFFIXES.iter().find_map(|(sfx, m, d)| s.strip_suffix(sfx).map(|n| (n, *m, *d))).unwrap_or((s, 1, 1));
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| d.len() <= 24 && d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    let scale = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let mantissa: u128 = format!("{int}{frac}").parse().ok()?;
    mantissa.checked_mul(mul)?.checked_mul(1000)?.checked_div(div)?.checked_div(scale)
}

/// The resource check: each pod's CPU and memory against the deployment's
/// effective limits (per pod); the value is the highest percentage found.
pub async fn check_resources(
    executor: &dyn ClusterExecutor,
    clusters: &[ClusterAccess],
    deployment: &DesiredDeployment,
    warning: Option<u64>,
    error: Option<u64>,
) -> CheckOutcome {
    let limits = (
        quantity_milli(deployment.effective.cpu_limit.value.as_str()),
        quantity_milli(deployment.effective.memory_limit.value.as_str()).map(|m| m / 1000),
    );
    let (Some(cpu_limit), Some(mem_limit)) = limits else {
        return CheckOutcome::unknown("the deployment's limits are not quantities");
    };
    let mut pods = Vec::new();
    for cluster in clusters {
        match executor.pod_metrics(cluster, deployment).await {
            Ok(found) => pods.extend(found),
            Err(e) => return CheckOutcome::unknown(format!("metrics of cluster {}: {e}", cluster.slug)),
        }
    }
    let percent = |used: u128, limit: u128| used.saturating_mul(100).checked_div(limit).unwrap_or(0);
    let worst = pods
        .iter()
        .flat_map(|p| {
            let cpu = percent(u128::from(p.cpu_millicores), cpu_limit);
            let mem = percent(u128::from(p.memory_bytes), mem_limit);
            [(cpu, "cpu", p.pod.as_str()), (mem, "memory", p.pod.as_str())]
        })
        .max_by_key(|(pct, _, _)| *pct);
    match worst {
        None => CheckOutcome::unknown("no pod metrics for the deployment"),
        Some((pct, what, pod)) => {
            let value = u64::try_from(pct).unwrap_or(u64::MAX);
            let state = grade_rising(value, warning, error);
            CheckOutcome::new(state, Some(value), format!("{what} of pod {pod} at {value}% of its limit"))
        }
    }
}

/// How checks run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MonitoringConfig {
    /// Checks in flight at once, at most (default 16).
    pub max_concurrent_checks: usize,
    /// Time a check may take beyond its own time-out before it is cut off
    /// (default 5 s); checks without a time-out get 30 s plus this.
    pub slack: Duration,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig { max_concurrent_checks: 16, slack: Duration::from_secs(5) }
    }
}

impl MonitoringConfig {
    /// With at most `n` checks at once.
    pub fn with_max_concurrent_checks(mut self, n: usize) -> Self {
        self.max_concurrent_checks = n.max(1);
        self
    }

    /// Cutting a check off `slack` after its own time-out.
    pub fn with_slack(mut self, slack: Duration) -> Self {
        self.slack = slack;
        self
    }
}

/// Launches due checks and records their results; attach it to an
/// [`Engine`](super::Engine) with `with_monitoring`. Cheap to share.
#[derive(Debug)]
pub struct Monitoring {
    eyrie: Eyrie,
    checker: Arc<dyn MonitorChecker>,
    hook: Arc<dyn MonitorHook>,
    config: MonitoringConfig,
    slots: Arc<Semaphore>,
    tasks: Mutex<JoinSet<()>>,
}

/// Monitors due for a check and monitors gone stale, at one instant.
pub(crate) async fn plan(store: &dyn Store, now: Timestamp) -> Result<(Vec<MonitorId>, Vec<MonitorId>)> {
    let until = Index::time_parent(now);
    let mut due = Vec::new();
    for s in store.list_between(Index::MonitorsDue(0), Index::MonitorsDue(until)).await? {
        if let Some(m) = Versioned::<Monitor>::from_stored(s)
            && m.value.next_check_at.is_some_and(|at| at <= now)
        {
            due.push(m.value.id);
        }
    }
    let mut stale = Vec::new();
    for s in store.list_between(Index::MonitorsStale(0), Index::MonitorsStale(until)).await? {
        if let Some(m) = Versioned::<Monitor>::from_stored(s)
            && m.value.stale_at().is_some_and(|at| at <= now)
        {
            stale.push(m.value.id);
        }
    }
    Ok((due, stale))
}

impl Monitoring {
    /// Checks through `checker`, telling `hook` of changes.
    pub fn new(
        eyrie: Eyrie,
        checker: Arc<dyn MonitorChecker>,
        hook: Arc<dyn MonitorHook>,
        config: MonitoringConfig,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_concurrent_checks.max(1)));
        Monitoring { eyrie, checker, hook, config, slots, tasks: Mutex::new(JoinSet::new()) }
    }

    /// Claims each due monitor and starts its check in the background;
    /// returns how many started and what was skipped, and why.
    pub async fn launch(&self, due: &[MonitorId], now: Timestamp) -> (usize, Vec<String>) {
        let mut started = 0;
        let mut skipped = Vec::new();
        for &id in due {
            match self.claim(id, now).await {
                Ok(Some((monitor, target))) => {
                    self.spawn(monitor, target, now).await;
                    started += 1;
                }
                Ok(None) => {}
                Err(e) => skipped.push(format!("check of {id}: {e}")),
            }
        }
        (started, skipped)
    }

    /// Marks stale monitors `unknown` and tells the hook; returns how many changed.
    pub async fn mark_stale(&self, stale: &[MonitorId], now: Timestamp) -> Result<usize> {
        let mut changed = 0;
        for &id in stale {
            if let Some(change) = self.eyrie.mark_monitor_stale(id, now).await? {
                self.hook.state_changed(&change).await;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Waits until every check started so far has recorded its result.
    pub async fn settle(&self) {
        let mut tasks = self.tasks.lock().await;
        while tasks.join_next().await.is_some() {}
    }

    async fn spawn(&self, monitor: Monitor, target: CheckTarget, now: Timestamp) {
        let (eyrie, checker, hook, slots) =
            (self.eyrie.clone(), self.checker.clone(), self.hook.clone(), self.slots.clone());
        let limit = match &target {
            CheckTarget::Http { options, .. } => Duration::from_millis(options.timeout_ms),
            _ => Duration::from_secs(30),
        } + self.config.slack;
        let mut tasks = self.tasks.lock().await;
        while tasks.try_join_next().is_some() {}
        let span = tracing::info_span!("monitor check", monitor = %monitor.id, deployment = %monitor.deployment_id);
        let task = async move {
            let Ok(_permit) = slots.acquire_owned().await else { return };
            let outcome = match tokio::time::timeout(limit, checker.check(&target, now)).await {
                Ok(outcome) => outcome,
                Err(_) if matches!(target, CheckTarget::Resource { .. }) => {
                    CheckOutcome::unknown(format!("no answer within {} ms", limit.as_millis()))
                }
                Err(_) => CheckOutcome::error(None, format!("no answer within {} ms", limit.as_millis())),
            };
            match eyrie.record_check(Actor::System, monitor.id, outcome).await {
                Ok(recorded) => {
                    if let Some(change) = recorded.change {
                        hook.state_changed(&change).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "a check's result could not be recorded"),
            }
        };
        tasks.spawn(tracing::Instrument::instrument(task, span));
    }

    /// Moves a due monitor's next check one interval on (revision-checked:
    /// one claimant wins) and resolves what to check. `None` when it is not
    /// due, another claimed it, or its deployment is not in `deploy`.
    async fn claim(&self, id: MonitorId, now: Timestamp) -> Result<Option<(Monitor, CheckTarget)>> {
        let store = self.eyrie.store();
        let Some(read) = store.find::<Monitor>(id.0).await? else { return Ok(None) };
        if read.value.next_check_at.is_none_or(|at| at > now) {
            return Ok(None);
        }
        let d = store.fetch::<Deployment>(read.value.deployment_id.0).await?.value;
        let mut m = read.value.clone();
        m.next_check_at = d.state.is_live().then(|| now.plus_seconds(m.interval_seconds));
        match store.commit(Transaction::new().update(&read, m.clone())).await {
            Ok(_) => {}
            Err(Error::Conflict(_) | Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
        if d.state != LifecycleState::Deploy {
            return Ok(None);
        }
        let target = match self.target(&m, &d).await {
            Ok(target) => target,
            Err(e) => {
                let outcome = CheckOutcome::unknown(format!("the check could not be prepared: {e}"));
                if let Some(change) = self.eyrie.record_check(Actor::System, m.id, outcome).await?.change {
                    self.hook.state_changed(&change).await;
                }
                return Ok(None);
            }
        };
        Ok(Some((m, target)))
    }

    async fn target(&self, m: &Monitor, d: &Deployment) -> Result<CheckTarget> {
        let (warning, error) = (m.warning, m.error);
        Ok(match m.monitor_type {
            MonitorType::HttpRequest => {
                CheckTarget::Http { url: m.target.clone(), options: m.http.clone(), warning, error }
            }
            MonitorType::Certificate => CheckTarget::Certificate { url: m.target.clone(), warning, error },
            MonitorType::Resource => {
                let store = self.eyrie.store();
                let group = store.fetch::<DeploymentGroup>(d.group_id.0).await?.value;
                let scope = store.fetch::<Scope>(d.scope_id.0).await?.value;
                let project = store.fetch::<Project>(d.project_id.0).await?.value;
                let desired = self.eyrie.desired_of(&project, &group, &scope, d).await?;
                let mut clusters = Vec::new();
                for id in crate::rules::deployment_clusters(&d.cluster_ids, &group, &scope)? {
                    clusters.push(self.eyrie.open_cluster_as(Principal::System, id).await?);
                }
                CheckTarget::Resource { clusters, deployment: Box::new(desired), warning, error }
            }
            MonitorType::Cpu | MonitorType::Memory | MonitorType::Disk => {
                return Err(Error::policy("this monitor type is no longer checked: use resource"));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::quantity_milli;

    #[test]
    fn quantities_as_the_metrics_api_writes_them() {
        assert_eq!(quantity_milli("500m"), Some(500));
        assert_eq!(quantity_milli("2"), Some(2000));
        assert_eq!(quantity_milli("250000000n"), Some(250));
        assert_eq!(quantity_milli("1Ki"), Some(1_024_000));
        assert_eq!(quantity_milli("1.5Gi"), Some(1_610_612_736_000));
        assert_eq!(quantity_milli("0.5"), Some(500));
        for bad in ["", "x", "1e3", "-1", "Mi"] {
            assert_eq!(quantity_milli(bad), None, "{bad}");
        }
    }
}
