//! Books (versioned step lists) and jobs (one run of a book), SPEC §5.

use std::collections::BTreeMap;
use std::fmt;

use super::audit::ActorRef;
use super::group::GroupType;
use crate::clock::Timestamp;
use crate::ids::{BookId, DeploymentId, JobId, ProjectId, StepStatsId};
use crate::lifecycle::JobState;

/// What a job does to its deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    /// `draft → initialize`.
    Initialize,
    /// `initialize → deploy`, or resume: `pause → deploy`.
    Deploy,
    /// Apply again while in `deploy` (new image digest, new settings).
    Redeploy,
    /// `deploy → pause`.
    Pause,
    /// Any live state `→ dropped`.
    Drop,
    /// Take a backup; the state does not change.
    Backup,
    /// Restore a backup into the deployment; the state does not change.
    Restore,
}

impl JobAction {
    /// Every action.
    pub const ALL: [JobAction; 7] = [
        JobAction::Initialize,
        JobAction::Deploy,
        JobAction::Redeploy,
        JobAction::Pause,
        JobAction::Drop,
        JobAction::Backup,
        JobAction::Restore,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Initialize => "initialize",
            JobAction::Deploy => "deploy",
            JobAction::Redeploy => "redeploy",
            JobAction::Pause => "pause",
            JobAction::Drop => "drop",
            JobAction::Backup => "backup",
            JobAction::Restore => "restore",
        }
    }
}

impl fmt::Display for JobAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a step is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A person does it and marks it done.
    Manual,
    /// A handler registered under this name by an executor.
    Handler(String),
}

/// One step of a book. Build it with [`StepSpec::handler`] or
/// [`StepSpec::manual`] and the `with_…` setters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct StepSpec {
    /// Short name, unique in the book.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Order in the book (ascending).
    pub sequence: u32,
    /// Manual or a named handler.
    pub kind: StepKind,
    /// Parameters handed to the handler.
    pub parameters: BTreeMap<String, String>,
    /// Expected duration in seconds; 0 = unknown (the historical average is used when known).
    pub estimated_duration: u64,
    /// A step running longer than `estimated_duration × estimated_duration_over_stop` times out.
    pub estimated_duration_over_stop: u32,
}

impl StepSpec {
    /// A handler step with default over-stop (10) and no parameters.
    pub fn handler(name: &str, handler: &str, sequence: u32, estimated_duration: u64, description: &str) -> Self {
        StepSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            sequence,
            kind: StepKind::Handler(handler.to_owned()),
            parameters: BTreeMap::new(),
            estimated_duration,
            estimated_duration_over_stop: 10,
        }
    }

    /// A manual step (a person does it), with default over-stop (10), no
    /// parameters and no estimate.
    pub fn manual(name: &str, sequence: u32, description: &str) -> Self {
        StepSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            sequence,
            kind: StepKind::Manual,
            parameters: BTreeMap::new(),
            estimated_duration: 0,
            estimated_duration_over_stop: 10,
        }
    }

    /// With the parameter `key` set to `value`.
    pub fn with_parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.insert(key.into(), value.into());
        self
    }

    /// With an expected duration of `seconds` (0: unknown).
    pub fn with_estimated_duration(mut self, seconds: u64) -> Self {
        self.estimated_duration = seconds;
        self
    }

    /// Timing out after `factor` × the expected duration.
    pub fn with_estimated_duration_over_stop(mut self, factor: u32) -> Self {
        self.estimated_duration_over_stop = factor;
        self
    }
}

/// A named, versioned list of steps for one group type and action.
/// Publishing a new version keeps the old ones.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Book {
    /// Identity of this version.
    pub id: BookId,
    /// Its name.
    pub name: String,
    /// The group type it serves.
    pub group_type: GroupType,
    /// The action it performs.
    pub action: JobAction,
    /// 1, 2, … per (group type, action).
    pub version: u32,
    /// Its steps, in sequence order.
    pub steps: Vec<StepSpec>,
    /// When it was published.
    pub created_at: Timestamp,
}

/// How far one step of a job got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not started.
    Pending,
    /// Its handler is running (or was, when the process died).
    Running,
    /// A manual step waiting for a person.
    WaitingManual,
    /// Waiting for its retry time.
    RetryWait,
    /// Finished.
    Done,
    /// Failed for good.
    Failed,
}

/// A step copied into a job, with its progress.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobStep {
    /// The step as the book had it when the job was created.
    pub spec: StepSpec,
    /// Progress.
    pub state: StepState,
    /// Attempts started.
    pub attempts: u32,
    /// When the current attempt started.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// When the next attempt may start (after a retry).
    pub retry_at: Option<Timestamp>,
    /// The last error.
    pub last_error: Option<String>,
}

/// An engine's claim on a running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lease {
    /// The claiming engine (for people reading the job; ownership is the token).
    pub engine: u64,
    /// Drawn afresh for every claim: an engine holds the lease only while the
    /// stored token is the one it wrote. Two engines, or two runs in one
    /// engine, can never both take a claim as theirs. Leases stored before
    /// tokens existed read as 0, which nobody holds.
    #[serde(default)]
    pub token: u64,
    /// The claim lapses at this instant unless renewed; another engine may then resume the job.
    pub until: Timestamp,
}

/// One run of a book against one deployment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// Identity.
    pub id: JobId,
    /// The project.
    pub project_id: ProjectId,
    /// The deployment it acts on.
    pub deployment_id: DeploymentId,
    /// What it does.
    pub action: JobAction,
    /// The book version it was created from.
    pub book_id: BookId,
    /// The book's name and version, for display.
    pub book: String,
    /// Who asked for it.
    pub actor: ActorRef,
    /// Its state.
    pub state: JobState,
    /// Every state it entered, with the instant.
    pub transitions: Vec<(JobState, Timestamp)>,
    /// The steps, copied from the book at creation.
    pub steps: Vec<JobStep>,
    /// The engine holding it while running.
    pub lease: Option<Lease>,
    /// Set by a cancel request; honoured between steps.
    pub cancel_requested: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// Action-specific input (e.g. the backup to restore).
    pub parameters: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// The desired state the job applies, fixed before its first step that
    /// reaches a cluster: a settings edit while the job runs changes what
    /// the *next* job applies, never the rest of this one.
    #[serde(default)]
    pub desired: Option<Box<crate::executor::DesiredDeployment>>,
    /// What the job wants its reader to know that is not an error (for
    /// example that a seed from `restore_from_scope` found no backup).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Job {
    /// The first step that is not done, if any.
    pub fn current_step(&self) -> Option<usize> {
        self.steps.iter().position(|s| s.state != StepState::Done)
    }

    /// Moves to `to` (checked) and records the instant.
    pub fn enter(&mut self, to: JobState, at: Timestamp) -> crate::Result<()> {
        self.state = self.state.transition(to)?;
        self.transitions.push((to, at));
        Ok(())
    }
}

/// Historical durations of one step of one (group type, action) book, for
/// steps whose `estimated_duration` is 0.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepStats {
    /// Derived from (group type, action, step name).
    pub id: StepStatsId,
    /// Completed runs.
    pub count: u64,
    /// Their total duration in milliseconds.
    pub total_millis: u64,
}

impl StepStats {
    /// The id of the stats of `step` in books for `group_type`/`action`.
    pub fn id_for(group_type: GroupType, action: JobAction, step: &str) -> StepStatsId {
        let text = format!("{group_type}/{action}/{step}");
        StepStatsId(crate::validate::fnv1a(text.as_bytes()))
    }

    /// The average duration in whole seconds (rounded up, at least 1), when there is history.
    pub fn average_seconds(&self) -> Option<u64> {
        (self.count > 0).then(|| (self.total_millis / self.count).div_ceil(1000).max(1))
    }
}
