//! Jobs, books and the scheduler (SPEC §5, §7).
//!
//! Every lifecycle action runs as a [`Job`](crate::Job) that executes a
//! [`Book`](crate::Book): a versioned list of steps for one group type and
//! action. The [`Engine`] creates jobs (copying the book's steps), runs them
//! with bounded concurrency on tokio, and persists every transition through
//! the store before acting on it. [`Engine::tick`] is the scheduler's one
//! pass; with [`Monitoring`] attached it also launches monitor checks.
//!
//! Choices made where SPEC is silent (each has a test in `tests/jobs_*.rs`):
//! - **One job per deployment**: a second action while one is active is
//!   refused ([`Error::Busy`](crate::Error::Busy)), not queued.
//! - **Crash recovery**: a running job holds a lease (engine id, expiry by
//!   the injected clock), renewed at every step and stretched over a step's
//!   time limit. A job whose lease lapsed is claimed by the next engine that
//!   looks ([`Engine::run_until_idle`]) and resumed from its current step;
//!   handlers are idempotent. A step whose parameters say
//!   `resumable = "false"` fails the job with a clear message instead.
//! - **Retries**: a handler's retry waits `max(asked, base × 2^(n-1))`,
//!   capped; after `max_attempts` attempts the step fails.
//! - **Time-outs**: a step may run `estimated_duration ×
//!   estimated_duration_over_stop` seconds (tokio time); an estimate of 0
//!   uses the step's historical average, and no limit applies when there is
//!   no history yet.
//! - **Cancel** stops a running job between steps; a scheduled one at once.
//! - **Books**: until a book is published for a group type and action, the
//!   built-in default steps are used; [`Engine::install_default_books`]
//!   publishes them as version 1. Backup and restore run as the `backup` and
//!   `restore` handlers the engine registers itself (see the crate's rules
//!   document, "Backups and restores").

mod backups;
mod books;
mod engine;
mod engine_config;
mod handler;
mod lifecycle;
pub mod monitoring;
mod retention;
mod scheduler;

pub use backups::{
    MAX_RECORDED_KEYS, PARAM_BACKUP, PARAM_PRE_RESTORE, PARAM_SCHEDULE, PARAM_SOURCE, PARAM_TAKE_PRE_RESTORE,
    RestoreOptions, STEP_ONLY_WITH,
};
pub use books::default_steps;
pub use engine::{Engine, EngineConfig, MAX_JOB_PARAMETER_BYTES, MAX_JOB_PARAMETERS, RunReport};
pub use handler::{HandlerRegistry, StepContext, StepHandler, StepOutcome, builtin};
pub use lifecycle::{action_permission, check_can_start, target_state};
pub use monitoring::{CheckTarget, MonitorChecker, MonitorHook, Monitoring, MonitoringConfig, TracingHook};
pub use retention::Reviewed;
pub use scheduler::{TickPlan, TickReport, next_run};
