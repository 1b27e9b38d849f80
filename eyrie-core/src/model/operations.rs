//! Monitors, monitor logs, backup schedules and backups (SPEC §6).

use crate::clock::Timestamp;
use crate::ids::{
    BackupId, BackupScheduleId, DatasourceId, DeploymentId, JobId, MonitorId, MonitorLogId, ProjectId, ScopeId,
};
use crate::validate::CronExpr;

/// What a monitor checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorType {
    /// An HTTP request to the target; thresholds in milliseconds.
    HttpRequest,
    /// CPU use in percent.
    Cpu,
    /// Memory use in percent.
    Memory,
    /// Disk use in percent.
    Disk,
    /// CPU and memory of the deployment's pods against their limits, in
    /// percent (the higher of the two), from the cluster's metrics API.
    Resource,
    /// Days until the host's TLS certificate expires.
    Certificate,
}

/// A monitor's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorState {
    /// Below the warning threshold.
    Ok,
    /// At or above warning.
    Warning,
    /// At or above error.
    Error,
    /// No data, or stale data.
    Unknown,
}

/// A check attached to a deployment (SPEC §6). See
/// [`crate::model::monitoring`] for the options' bounds and defaults.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Monitor {
    /// Identity.
    pub id: MonitorId,
    /// The project.
    pub project_id: ProjectId,
    /// The deployment it watches.
    pub deployment_id: DeploymentId,
    /// What it checks.
    pub monitor_type: MonitorType,
    /// What it checks against: the URL of an `http_request` monitor, the
    /// `host[:port]` of a `certificate` monitor, empty for `resource`.
    pub target: String,
    /// Warning threshold (milliseconds, percent, or days left).
    pub warning: Option<u64>,
    /// Error threshold (milliseconds, percent, or days left).
    pub error: Option<u64>,
    /// Current health.
    pub state: MonitorState,
    /// When it last checked.
    pub last_check_at: Option<Timestamp>,
    /// Seconds between checks.
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    /// Options of an `http_request` monitor.
    #[serde(default)]
    pub http: crate::model::monitoring::HttpOptions,
    /// The last result when it disagreed with `state` (damping: a second
    /// agreeing result changes the state).
    #[serde(default)]
    pub pending: Option<MonitorState>,
    /// When the next check is due; indexed by time for the scheduler.
    #[serde(default)]
    pub next_check_at: Option<Timestamp>,
}

fn default_interval() -> u64 {
    crate::model::monitoring::DEFAULT_INTERVAL_SECONDS
}

impl Monitor {
    /// When the monitor goes `unknown` without a new result: three
    /// intervals after its last check, unless it is `unknown` already.
    pub fn stale_at(&self) -> Option<Timestamp> {
        match self.state {
            MonitorState::Unknown => None,
            _ => self.last_check_at.map(|at| at.plus_seconds(self.interval_seconds.saturating_mul(3))),
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MonitorLog {
    /// Identity.
    pub id: MonitorLogId,
    /// The project.
    pub project_id: ProjectId,
    /// The monitor.
    pub monitor_id: MonitorId,
    /// When the check ran.
    pub at: Timestamp,
    /// The outcome.
    pub state: MonitorState,
    /// The measured value.
    pub value: Option<u64>,
    /// A short message.
    pub message: String,
    /// Logs written before retention was decided when pruning carry the
    /// deadline fixed when they were written; the scheduler still prunes
    /// them by it. New logs leave it `None` and carry `scope_id`.
    #[serde(default)]
    pub delete_after: Option<Timestamp>,
    /// The scope of the monitor's deployment when the log was written: the
    /// scheduler prunes the log by that scope's *current*
    /// `monitor_log_delete_after_seconds`.
    #[serde(default)]
    pub scope_id: Option<ScopeId>,
}

/// When scheduled backups run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Once a day.
    DailyTriggered,
    /// On a cron expression, validated when set.
    CronFull(CronExpr),
}

/// A deployment's backup schedule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupSchedule {
    /// Identity.
    pub id: BackupScheduleId,
    /// The project.
    pub project_id: ProjectId,
    /// The deployment backed up.
    pub deployment_id: DeploymentId,
    /// When.
    pub kind: ScheduleKind,
    /// When it last launched a backup.
    pub last_run_at: Option<Timestamp>,
    /// When it is next due; indexed by time for the scheduler.
    #[serde(default)]
    pub next_run_at: Option<Timestamp>,
}

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// "Backup now".
    Manual,
    /// A daily schedule.
    DailyTriggered,
    /// A cron schedule.
    CronFull,
    /// The safety backup a restore takes of the deployment it overwrites.
    PreRestore,
}

impl BackupKind {
    /// The snake-case name used in parameters and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Manual => "manual",
            BackupKind::DailyTriggered => "daily_triggered",
            BackupKind::CronFull => "cron_full",
            BackupKind::PreRestore => "pre_restore",
        }
    }
}

/// How far a backup got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupState {
    /// Its job has not finished.
    #[serde(alias = "pending")]
    Running,
    /// Stored and verified (present, not empty).
    Done,
    /// Its job failed, or the object was missing or empty.
    #[serde(alias = "failed")]
    Error,
    /// Removed by retention: its objects are deleted.
    Expired,
}

impl BackupState {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupState::Running => "running",
            BackupState::Done => "done",
            BackupState::Error => "error",
            BackupState::Expired => "expired",
        }
    }
}

/// One backup of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Backup {
    /// Identity.
    pub id: BackupId,
    /// The project.
    pub project_id: ProjectId,
    /// The deployment backed up.
    pub deployment_id: DeploymentId,
    /// Its scope when the backup was taken (listing per scope, seeding).
    #[serde(default)]
    pub scope_id: Option<ScopeId>,
    /// Its group type (a restore needs the same).
    #[serde(default)]
    pub group_type: Option<crate::model::GroupType>,
    /// Why.
    pub kind: BackupKind,
    /// The job that takes it.
    pub job_id: Option<JobId>,
    /// Where it goes (the scope's `backup_dest_datasource`).
    pub datasource_id: Option<DatasourceId>,
    /// How far it got.
    pub state: BackupState,
    /// When its job was created.
    #[serde(alias = "created_at")]
    pub started_at: Timestamp,
    /// When it became `done` or `error`.
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    /// The key prefix its objects are under, as the executor reported it.
    #[serde(default)]
    pub location: Option<String>,
    /// Its objects' keys, as verified.
    #[serde(default)]
    pub object_keys: Vec<String>,
    /// Total size of its objects.
    pub size_bytes: Option<u64>,
    /// The checksum the bucket reports (see `eyrie-backup`'s `verify`), one
    /// per object, in `object_keys` order, joined by `,`.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// When retention should look at this deployment's backups again
    /// (indexed by time for the scheduler); `None` when nothing is due.
    #[serde(default)]
    pub review_at: Option<Timestamp>,
}

impl Backup {
    /// A `running` backup of `deployment` in `project`, started `at`: no
    /// scope, job, datasource or object yet.
    pub fn started(
        id: BackupId,
        project: ProjectId,
        deployment: DeploymentId,
        kind: BackupKind,
        at: Timestamp,
    ) -> Self {
        Backup {
            id,
            project_id: project,
            deployment_id: deployment,
            scope_id: None,
            group_type: None,
            kind,
            job_id: None,
            datasource_id: None,
            state: BackupState::Running,
            started_at: at,
            ended_at: None,
            location: None,
            object_keys: Vec::new(),
            size_bytes: None,
            checksum: None,
            error: None,
            review_at: None,
        }
    }
}
