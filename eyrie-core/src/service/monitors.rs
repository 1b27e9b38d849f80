//! Monitors of a deployment (SPEC §6): create, edit, delete, list, and the
//! one way a check's result is recorded ([`Eyrie::record_check`]), with
//! damping and the audit of every change of state.
//!
//! Creating, editing and deleting a monitor, and recording a result, need
//! the scope's `role_to_admin` ([`Action::EditMonitors`]); reading needs
//! `user` ([`Action::ReadDeployment`]). Inputs are checked against the
//! bounds of [`crate::model::monitoring`] before anything is read or written.

use super::{Eyrie, allow, as_seen};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::ids::{DeploymentId, MonitorId, MonitorLogId};
use crate::model::monitoring::{
    self, CheckOutcome, HttpOptions, MAX_MONITORS_PER_DEPLOYMENT, StateChange, check_interval, check_thresholds,
    damped, default_thresholds,
};
use crate::model::{Deployment, GroupType, Monitor, MonitorLog, MonitorState, MonitorType, Scope};
use crate::permission::{Action, Actor};
use crate::storage::{Check, EntityKind, Index, RecordKey, StoreExt, Transaction, Versioned};
use crate::validate::{Url, ValidationError};

/// What a new monitor needs. Start from [`NewMonitor::http`],
/// [`NewMonitor::resource`] or [`NewMonitor::certificate`] and change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewMonitor {
    /// What it checks.
    pub monitor_type: MonitorType,
    /// `http_request`: the URL (default `https://<effective host>/`, for odoo
    /// `/web/health`); `certificate`: `https://host[:port]` (default the
    /// effective host on 443). Ignored by `resource`.
    pub url: Option<Url>,
    /// Warning threshold; `None` takes the type's default.
    pub warning: Option<u64>,
    /// Error threshold; `None` takes the type's default.
    pub error: Option<u64>,
    /// Seconds between checks (default 60, at least 10).
    pub interval_seconds: u64,
    /// Options of an `http_request` monitor.
    pub http: HttpOptions,
}

impl NewMonitor {
    fn of(monitor_type: MonitorType) -> Self {
        NewMonitor {
            monitor_type,
            url: None,
            warning: None,
            error: None,
            interval_seconds: monitoring::DEFAULT_INTERVAL_SECONDS,
            http: HttpOptions::default(),
        }
    }

    /// An `http_request` monitor with every default.
    pub fn http() -> Self {
        Self::of(MonitorType::HttpRequest)
    }

    /// A `resource` monitor with every default.
    pub fn resource() -> Self {
        Self::of(MonitorType::Resource)
    }

    /// A `certificate` monitor with every default.
    pub fn certificate() -> Self {
        Self::of(MonitorType::Certificate)
    }

    /// Checking this URL instead of the effective host.
    pub fn with_url(mut self, url: Url) -> Self {
        self.url = Some(url);
        self
    }

    /// With this warning threshold instead of the type's default.
    pub fn with_warning(mut self, warning: u64) -> Self {
        self.warning = Some(warning);
        self
    }

    /// With this error threshold instead of the type's default.
    pub fn with_error(mut self, error: u64) -> Self {
        self.error = Some(error);
        self
    }

    /// Checking every `seconds` (at least 10).
    pub fn with_interval_seconds(mut self, seconds: u64) -> Self {
        self.interval_seconds = seconds;
        self
    }

    /// With these options of an `http_request` monitor.
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }
}

/// Changes to a monitor; `None` leaves a field as it is. Start from
/// [`MonitorPatch::default`] (changes nothing) and name fields with the
/// `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MonitorPatch {
    /// New URL (`http_request`, `certificate`).
    pub url: Option<Url>,
    /// New warning threshold.
    pub warning: Option<u64>,
    /// New error threshold.
    pub error: Option<u64>,
    /// New interval.
    pub interval_seconds: Option<u64>,
    /// New HTTP options, replacing the old ones whole.
    pub http: Option<HttpOptions>,
}

impl MonitorPatch {
    /// Checks this URL (`http_request`, `certificate`).
    pub fn with_url(mut self, url: Url) -> Self {
        self.url = Some(url);
        self
    }

    /// Changes the warning threshold.
    pub fn with_warning(mut self, warning: u64) -> Self {
        self.warning = Some(warning);
        self
    }

    /// Changes the error threshold.
    pub fn with_error(mut self, error: u64) -> Self {
        self.error = Some(error);
        self
    }

    /// Changes the interval.
    pub fn with_interval_seconds(mut self, seconds: u64) -> Self {
        self.interval_seconds = Some(seconds);
        self
    }

    /// Replaces the HTTP options whole.
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = Some(http);
        self
    }
}

/// What [`Eyrie::record_check`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecorded {
    /// The log of the check.
    pub log: MonitorLog,
    /// The change of state it decided, if any (already audited).
    pub change: Option<StateChange>,
}

/// Checks a target URL: http or https only.
fn check_url(url: &Url) -> Result<()> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(ValidationError::field("url", url, format!("must be http or https, not {other}")).into()),
    }
}

/// The target of a monitor of `monitor_type` on `deployment`, from `url` or its effective host.
fn target_for(monitor_type: MonitorType, url: Option<&Url>, d: &Deployment, group_type: GroupType) -> Result<String> {
    if let Some(url) = url {
        check_url(url)?;
        if monitor_type == MonitorType::Certificate && url.scheme() != "https" {
            return Err(ValidationError::field("url", url, "a certificate monitor needs an https URL").into());
        }
    }
    match monitor_type {
        MonitorType::Resource => Ok(String::new()),
        MonitorType::HttpRequest | MonitorType::Certificate => match (url, &d.hostname) {
            (Some(url), _) => Ok(url.as_str().to_owned()),
            (None, Some(host)) if monitor_type == MonitorType::HttpRequest => {
                let path = if group_type == GroupType::Odoo { "/web/health" } else { "/" };
                Ok(format!("https://{host}{path}"))
            }
            (None, Some(host)) => Ok(format!("https://{host}")),
            (None, None) => {
                Err(ValidationError::field("url", "(none)", "the deployment has no effective host: give a URL").into())
            }
        },
        MonitorType::Cpu | MonitorType::Memory | MonitorType::Disk => Err(ValidationError::field(
            "monitor_type",
            format!("{monitor_type:?}"),
            "is no longer created: use resource",
        )
        .into()),
    }
}

/// Checks every bound of a monitor as it would be stored.
fn validate(m: &Monitor) -> Result<()> {
    check_interval(m.interval_seconds)?;
    check_thresholds(m.monitor_type, m.warning, m.error)?;
    m.http.validate()?;
    Ok(())
}

impl Eyrie {
    /// The monitor a scope with `monitor` set gives a new deployment: an
    /// HTTP check of its effective host (odoo: `/web/health`). `None` when
    /// the scope does not ask for one or the deployment has no host.
    pub(crate) fn default_monitor(&self, scope: &Scope, group_type: GroupType, d: &Deployment) -> Option<Monitor> {
        if !scope.monitor {
            return None;
        }
        let target = target_for(MonitorType::HttpRequest, None, d, group_type).ok()?;
        let (warning, error) = default_thresholds(MonitorType::HttpRequest);
        Some(Monitor {
            id: MonitorId(self.next_id()),
            project_id: d.project_id,
            deployment_id: d.id,
            monitor_type: MonitorType::HttpRequest,
            target,
            warning,
            error,
            state: MonitorState::Unknown,
            last_check_at: None,
            interval_seconds: monitoring::DEFAULT_INTERVAL_SECONDS,
            http: HttpOptions::default(),
            pending: None,
            next_check_at: Some(self.now()),
        })
    }

    /// Creates a monitor on a deployment. Its first check is due at once.
    pub async fn create_monitor(&self, actor: Actor, deployment: DeploymentId, input: NewMonitor) -> Result<Monitor> {
        let actor = self.identify(actor).await?;
        let (dw, de) = default_thresholds(input.monitor_type);
        let (warning, error) = (input.warning.or(dw), input.error.or(de));
        check_interval(input.interval_seconds)?;
        check_thresholds(input.monitor_type, warning, error)?;
        input.http.validate()?;
        if let Some(url) = &input.url {
            check_url(url)?;
        }
        self.retrying(|| async {
            let da = self.deployment_access(actor, deployment).await?;
            allow(actor, Action::EditMonitors, &da.resource())?;
            let d = &da.deployment.value;
            if !d.state.is_live() {
                return Err(Error::policy(format!("deployment {} is dropped and can no longer change", d.slug)));
            }
            let target = target_for(input.monitor_type, input.url.as_ref(), d, da.group.value.group_type)?;
            let monitor = Monitor {
                id: MonitorId(self.next_id()),
                project_id: d.project_id,
                deployment_id: d.id,
                monitor_type: input.monitor_type,
                target,
                warning,
                error,
                state: MonitorState::Unknown,
                last_check_at: None,
                interval_seconds: input.interval_seconds,
                http: input.http.clone(),
                pending: None,
                next_check_at: Some(self.now()),
            };
            let tx = da
                .access
                .pinned()
                .unchanged(&da.deployment)
                .unchanged(&da.scope)
                .check(Check::CountBelow {
                    index: Index::DeploymentMonitors(deployment),
                    limit: u64::from(MAX_MONITORS_PER_DEPLOYMENT),
                    message: format!("a deployment has at most {MAX_MONITORS_PER_DEPLOYMENT} monitors"),
                })
                .create(monitor.clone());
            self.commit(tx, self.audit(actor, Some(monitor.project_id), "monitor.create", monitor.id)).await?;
            Ok(monitor)
        })
        .await
    }

    /// Reads a monitor and the actor's access to its deployment; a stranger
    /// gets the `NotFound` of a missing monitor.
    async fn monitor_access(
        &self,
        actor: crate::permission::Principal,
        id: MonitorId,
    ) -> Result<(Versioned<Monitor>, super::access::DeploymentAccess)> {
        let named = RecordKey::new(EntityKind::Monitor, id.0);
        let read = self.store.fetch::<Monitor>(id.0).await?;
        let da = self.deployment_access(actor, read.value.deployment_id).await.map_err(as_seen(named))?;
        Ok((read, da))
    }

    /// Edits a monitor; a changed interval takes effect after the next check.
    pub async fn update_monitor(&self, actor: Actor, id: MonitorId, patch: MonitorPatch) -> Result<Monitor> {
        let actor = self.identify(actor).await?;
        if let Some(url) = &patch.url {
            check_url(url)?;
        }
        self.retrying(|| async {
            let (read, da) = self.monitor_access(actor, id).await?;
            allow(actor, Action::EditMonitors, &da.resource())?;
            let mut m = read.value.clone();
            if patch.url.is_some() {
                m.target =
                    target_for(m.monitor_type, patch.url.as_ref(), &da.deployment.value, da.group.value.group_type)?;
            }
            m.warning = patch.warning.or(m.warning);
            m.error = patch.error.or(m.error);
            m.interval_seconds = patch.interval_seconds.unwrap_or(m.interval_seconds);
            if let Some(http) = &patch.http {
                m.http = http.clone();
            }
            // A monitor stored before checks were scheduled has no next check:
            // an edit puts it on the schedule.
            if m.next_check_at.is_none() && da.deployment.value.state.is_live() {
                m.next_check_at = Some(self.now());
            }
            validate(&m)?;
            let tx = da.access.pinned().unchanged(&da.scope).update(&read, m.clone());
            self.commit(tx, self.audit(actor, Some(m.project_id), "monitor.update", id)).await?;
            Ok(m)
        })
        .await
    }

    /// Deletes a monitor, then its logs (in batches, after the monitor is
    /// gone: a log left by an interruption is unreachable and pruned by retention).
    pub async fn delete_monitor(&self, actor: Actor, id: MonitorId) -> Result<()> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let (read, da) = self.monitor_access(actor, id).await?;
            allow(actor, Action::EditMonitors, &da.resource())?;
            let tx = da.access.pinned().unchanged(&da.scope).delete(&read);
            self.commit(tx, self.audit(actor, Some(read.value.project_id), "monitor.delete", id)).await
        })
        .await?;
        let logs = self.store.children::<MonitorLog>(Index::MonitorLogs(id)).await?;
        for chunk in logs.chunks(256) {
            let tx = chunk.iter().fold(Transaction::new(), |tx, log| tx.delete(log));
            match self.store.commit(tx).await {
                Ok(_) | Err(Error::NotFound { .. } | Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads a monitor.
    pub async fn get_monitor(&self, actor: Actor, id: MonitorId) -> Result<Monitor> {
        let actor = self.identify(actor).await?;
        let (read, da) = self.monitor_access(actor, id).await?;
        allow(actor, Action::ReadDeployment, &da.resource())?;
        Ok(read.value)
    }

    /// The monitors of a deployment.
    pub async fn list_monitors(&self, actor: Actor, deployment: DeploymentId) -> Result<Vec<Monitor>> {
        let actor = self.identify(actor).await?;
        let da = self.deployment_access(actor, deployment).await?;
        allow(actor, Action::ReadDeployment, &da.resource())?;
        let monitors = self.store.children::<Monitor>(Index::DeploymentMonitors(deployment)).await?;
        Ok(monitors.into_iter().map(|m| m.value).collect())
    }

    /// Records one check's result (the system actor, or whoever may edit the
    /// monitor's): writes its log and, by damping ([`monitoring::damped`]),
    /// the monitor's state; a change of state is audited in the same
    /// transaction and returned for the notification hook.
    pub async fn record_check(&self, actor: Actor, monitor: MonitorId, outcome: CheckOutcome) -> Result<CheckRecorded> {
        let actor = self.identify(actor).await?;
        let message = outcome.short_message();
        self.retrying(|| async {
            let (read, da) = self.monitor_access(actor, monitor).await?;
            allow(actor, Action::EditMonitors, &da.resource())?;
            let now = self.now();
            let log = MonitorLog {
                id: MonitorLogId(self.next_id()),
                project_id: read.value.project_id,
                monitor_id: monitor,
                at: now,
                state: outcome.state,
                value: outcome.value,
                message: message.clone(),
                delete_after: None,
                scope_id: Some(da.scope.value.id),
            };
            let mut m = read.value.clone();
            let (state, pending) = damped(m.state, m.pending, outcome.state);
            let change = (state != m.state).then(|| change_of(&m, state, now, &message));
            (m.state, m.pending, m.last_check_at) = (state, pending, Some(now));
            let mut tx = da.access.pinned().update(&read, m).create(log.clone());
            if let Some(c) = &change {
                tx = tx.create(self.audit(actor, Some(c.project_id), "monitor.state", state_target(c)));
            }
            self.store.commit(tx).await.map_err(|e| match e {
                Error::AlreadyExists { .. } => Error::Conflict("id reuse".into()),
                Error::NotFound { .. } => Error::Conflict("a record this call read was deleted meanwhile".into()),
                other => other,
            })?;
            Ok(CheckRecorded { log, change })
        })
        .await
    }

    /// Records one check of a monitor with an already decided state; see
    /// [`Eyrie::record_check`] (this is it, returning the log alone).
    pub async fn record_monitor_log(
        &self,
        actor: Actor,
        monitor: MonitorId,
        state: MonitorState,
        value: Option<u64>,
        message: &str,
    ) -> Result<MonitorLog> {
        if message.len() > 4096 {
            return Err(ValidationError::field("message", message.len(), "must be at most 4096 bytes").into());
        }
        let outcome = CheckOutcome::new(state, value, message);
        self.record_check(actor, monitor, outcome).await.map(|r| r.log)
    }

    /// The scheduler's side: a monitor that had no result for three
    /// intervals goes `unknown` (audited). `None` when it is not stale at
    /// `now` (a result came meanwhile, or it is `unknown` already).
    pub(crate) async fn mark_monitor_stale(&self, id: MonitorId, now: Timestamp) -> Result<Option<StateChange>> {
        self.retrying(|| async {
            let Some(read) = self.store.find::<Monitor>(id.0).await? else { return Ok(None) };
            if read.value.stale_at().is_none_or(|at| at > now) {
                return Ok(None);
            }
            let mut m = read.value.clone();
            let intervals = m.interval_seconds.saturating_mul(3);
            let change = change_of(&m, MonitorState::Unknown, now, &format!("no result for {intervals} s"));
            (m.state, m.pending) = (MonitorState::Unknown, None);
            let tx = Transaction::new().update(&read, m);
            let event = self.audit(
                crate::permission::Principal::System,
                Some(change.project_id),
                "monitor.state",
                state_target(&change),
            );
            self.commit(tx, event).await?;
            Ok(Some(change))
        })
        .await
    }
}

fn change_of(m: &Monitor, to: MonitorState, at: Timestamp, message: &str) -> StateChange {
    StateChange {
        monitor_id: m.id,
        project_id: m.project_id,
        deployment_id: m.deployment_id,
        monitor_type: m.monitor_type,
        from: m.state,
        to,
        at,
        message: message.to_owned(),
    }
}

/// The audit target of a change of state: `mon-… ok -> warning`.
fn state_target(c: &StateChange) -> String {
    let name = |s: MonitorState| match s {
        MonitorState::Ok => "ok",
        MonitorState::Warning => "warning",
        MonitorState::Error => "error",
        MonitorState::Unknown => "unknown",
    };
    format!("{} {} -> {}", c.monitor_id, name(c.from), name(c.to))
}
