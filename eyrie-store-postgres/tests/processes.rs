//! Several processes, one store (SPEC §10): two and three real processes,
//! each with its own `Eyrie`, `Engine` and scheduler over one PostgreSQL
//! schema. Every job's steps run exactly once, every due scheduler action
//! is launched once, and a process killed mid-step has its job taken over by
//! exactly one other and resumed (or failed, when its step cannot be
//! resumed), never run twice at once.
//!
//! Each child records every handler run as a row of `step_runs` in the same
//! database before the handler returns; the parent counts the rows. The
//! harness is in `common/procs.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::procs::{self, Recorder, Role, say};
use eyrie_core::jobs::{HandlerRegistry, builtin, default_steps};
use eyrie_core::storage::{Store, StoreExt};
use eyrie_core::{
    Actor, Clock, DeploymentId, Engine, EngineConfig, ErrorKind, GroupType, Job, JobAction, JobState, LifecycleState,
    StepState,
};
use eyrie_testkit::builders::T0;
use eyrie_testkit::fixtures::{Tenant, new_deployment, service_with, typical_tenant};

/// Deployments in `dev` that reach `deploy` before the children start; the
/// children's clock is past their pause timer (8 h), so each must be paused
/// by exactly one scheduler pass.
const DUE_FOR_PAUSE: usize = 3;
/// Deployments in `stage` with an initialize job waiting for the children.
const WAITING: usize = 8;
const SETTLE: Duration = Duration::from_secs(60);

fn number(var: &str) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

// ---------------------------------------------------------------- the child

/// A child process: hidden, and does nothing unless the parent sets
/// `EYRIE_PG_PROC_SCHEMA`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the several-processes tests"]
async fn process_child() {
    let (Ok(schema), Ok(url)) = (std::env::var(procs::SCHEMA_VAR), std::env::var(common::URL_VAR)) else { return };
    let process = number(procs::PROCESS_VAR);
    let offset = number(procs::CLOCK_VAR);
    let tick = std::env::var(procs::TICK_VAR).is_ok_and(|v| v == "1");
    let store = Arc::new(common::open(&url, &schema).await);
    // Ids of records this process creates never meet another's.
    let (eyrie, clock) = service_with(store, process * 1_000_000_000_000);
    clock.set(T0.plus_seconds(offset));
    let engine = Engine::new(
        eyrie,
        recording_handlers(&url, &schema, process, std::env::var(procs::HANG_VAR).ok()).await,
        // No engine id given: each engine draws its own (the Engine identity fix).
        EngineConfig::default().with_max_concurrent_jobs(2),
    );
    say(&format!("READY {}", engine.id()));
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await.unwrap().unwrap();

    let started = Instant::now();
    let (mut idle_rounds, mut finished, mut launched) = (0, 0, 0);
    while idle_rounds < 6 {
        assert!(started.elapsed() < SETTLE, "child {process} did not settle within {SETTLE:?}");
        let mut progressed = false;
        if tick {
            let report = engine.tick(clock.now()).await.unwrap();
            launched += report.jobs.len();
            progressed |= !report.jobs.is_empty();
        }
        let report = engine.run_until_idle().await.unwrap();
        finished += report.finished;
        progressed |= report.finished > 0;
        for (job, e) in &report.errors {
            // Another process took the job first: nothing lost. Anything else fails the child.
            assert_eq!(e.kind(), ErrorKind::Conflict, "child {process}, job {job:?}: {e}");
            eprintln!("child {process}, job {job:?}: {e}");
            progressed = true;
        }
        idle_rounds = if progressed { 0 } else { idle_rounds + 1 };
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    say(&format!("DONE {finished} {launched}"));
}

async fn recording_handlers(url: &str, schema: &str, process: u64, hang: Option<String>) -> HandlerRegistry {
    let client = Arc::new(common::connect(url).await);
    let mut handlers = HandlerRegistry::new();
    for name in builtin::ALL {
        let recorder = Recorder {
            client: client.clone(),
            schema: schema.to_owned(),
            process: i32::try_from(process).unwrap(),
            hang: hang.clone(),
        };
        handlers.register(name, Arc::new(recorder));
    }
    handlers
}

// ---------------------------------------------------------------- the parent

/// The shared schema with a tenant, and the parent's own engine (process 0).
struct Setup {
    url: String,
    schema: String,
    store: Arc<dyn Store>,
    t: Tenant,
    engine: Engine,
}

async fn setup(url: String, tag: &str) -> Setup {
    let schema = common::fresh_schema(tag);
    let store: Arc<dyn Store> = Arc::new(common::open(&url, &schema).await);
    common::connect(&url).await.batch_execute(&procs::create_step_runs(&schema)).await.unwrap();
    let t = typical_tenant(store.clone()).await.unwrap();
    let engine =
        Engine::new(t.eyrie.clone(), recording_handlers(&url, &schema, 0, None).await, EngineConfig::default());
    Setup { url, schema, store, t, engine }
}

impl Setup {
    async fn create(&self, name: &str, scope: &eyrie_core::Scope) -> DeploymentId {
        let new = new_deployment(name, scope).unwrap();
        self.t.eyrie.create_deployment(self.t.owner, self.t.group.id, new).await.unwrap().id
    }

    async fn submit(&self, d: DeploymentId, action: JobAction) {
        self.engine.submit(self.t.developer, d, action, BTreeMap::new()).await.unwrap();
    }

    async fn jobs(&self) -> Vec<Job> {
        self.store.all::<Job>().await.unwrap().into_iter().map(|v| v.value).collect()
    }

    /// Every handler run: (job, step) → [(process, attempt)].
    async fn runs(&self) -> BTreeMap<(u64, String), Vec<(i32, i32)>> {
        let client = common::connect(&self.url).await;
        let sql = format!("SELECT job::text, step, process, attempt FROM \"{}\".step_runs ORDER BY at", self.schema);
        let mut runs: BTreeMap<(u64, String), Vec<(i32, i32)>> = BTreeMap::new();
        for row in client.query(&sql, &[]).await.unwrap() {
            let job: String = row.get(0);
            runs.entry((job.parse().unwrap(), row.get(1))).or_default().push((row.get(2), row.get(3)));
        }
        runs
    }

    async fn state(&self, d: DeploymentId) -> LifecycleState {
        self.t.eyrie.get_deployment(self.t.owner, d).await.unwrap().state
    }

    async fn finish(self) {
        common::assert_consistent(&*self.store).await;
        drop(self.store);
        common::drop_schemas(&self.url, &[self.schema]).await;
    }
}

/// Prints the children's stderr if the test fails after they exited.
struct ShowOnPanic(String);

impl Drop for ShowOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- the children's stderr ---\n{}", self.0);
        }
    }
}

fn role(engine: u64, clock_offset_seconds: u64, tick: bool, hang: Option<&str>) -> Role {
    Role { engine, clock_offset_seconds, tick, hang: hang.map(str::to_owned) }
}

/// `processes` children share jobs waiting in `stage` and scheduler passes
/// that find pauses due in `dev`.
async fn processes_share_jobs_and_ticks(processes: u64) {
    let test = format!("{processes}_processes_run_every_step_once");
    let Some(url) = common::server_url(&test) else { return };
    let s = setup(url, &format!("p{processes}")).await;
    let mut due = Vec::new();
    for i in 0..DUE_FOR_PAUSE {
        let d = s.create(&format!("dev {i}"), &s.t.dev).await;
        for action in [JobAction::Initialize, JobAction::Deploy] {
            s.submit(d, action).await;
            assert!(s.engine.run_until_idle().await.unwrap().is_clean());
        }
        assert_eq!(s.state(d).await, LifecycleState::Deploy);
        due.push(d);
    }
    let mut waiting = Vec::new();
    for i in 0..WAITING {
        let d = s.create(&format!("stage {i}"), &s.t.stage).await;
        s.submit(d, JobAction::Initialize).await;
        waiting.push(d);
    }

    let nine_hours = 9 * 3600;
    let mut children: Vec<_> =
        (1..=processes).map(|n| procs::spawn(&s.url, &s.schema, role(n, nine_hours, true, None))).collect();
    for child in &mut children {
        child.expect("READY", SETTLE);
    }
    for child in &mut children {
        child.go();
    }
    let (mut finished, mut launched, mut logs) = (0, 0, String::new());
    for child in children {
        let (f, l, log) = child.done(SETTLE + Duration::from_secs(10));
        finished += f;
        launched += l;
        logs.push_str(&log);
    }
    // A failed assertion below shows what the children said.
    let _show_logs = ShowOnPanic(logs);

    let jobs = s.jobs().await;
    let runs = s.runs().await;
    for job in &jobs {
        assert_eq!(job.state, JobState::Done, "job {} ({}) is not done: {job:#?}", job.id, job.action);
        for step in &job.steps {
            assert_eq!((step.state, step.attempts), (StepState::Done, 1), "job {} step {}", job.id, step.spec.name);
            let ran = runs.get(&(job.id.0, step.spec.name.clone())).map_or(0, Vec::len);
            assert_eq!(ran, 1, "job {} step {} ran {ran} times: {runs:?}", job.id, step.spec.name);
        }
    }
    let steps: usize = jobs.iter().map(|j| j.steps.len()).sum();
    assert_eq!(runs.values().map(Vec::len).sum::<usize>(), steps, "no run outside a job's steps");
    for d in &due {
        let pauses = jobs.iter().filter(|j| j.deployment_id == *d && j.action == JobAction::Pause).count();
        assert_eq!(pauses, 1, "the due pause of {d} was launched {pauses} times");
        assert_eq!(s.state(*d).await, LifecycleState::Pause);
    }
    for d in &waiting {
        assert_eq!(s.state(*d).await, LifecycleState::Initialize);
    }
    assert_eq!(launched, DUE_FOR_PAUSE as u64, "every due scheduler action launched once in all");
    assert_eq!(finished, (WAITING + DUE_FOR_PAUSE) as u64, "every waiting or launched job finished once in all");
    let workers: BTreeSet<i32> = runs.values().flatten().map(|(p, _)| *p).filter(|p| *p != 0).collect();
    assert!(workers.len() >= 2, "the work was shared between processes: {workers:?}");
    eprintln!(
        "{processes} processes: {} jobs, {steps} step runs, each once; {launched} pauses launched by ticks; \
         processes that ran steps: {workers:?}",
        jobs.len()
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_run_every_step_once_and_launch_every_due_action_once() {
    processes_share_jobs_and_ticks(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_run_every_step_once_and_launch_every_due_action_once() {
    processes_share_jobs_and_ticks(3).await;
}

/// Process 1 takes the deploy job of `sandbox` and hangs in its "apply"
/// step; it is SIGKILLed there. Returns the job as it left it.
async fn kill_process_1_in_apply(s: &Setup) -> Job {
    let d = s.t.sandbox.id;
    s.submit(d, JobAction::Initialize).await;
    assert!(s.engine.run_until_idle().await.unwrap().is_clean());
    s.submit(d, JobAction::Deploy).await;
    let deploy = s.jobs().await.into_iter().find(|j| j.action == JobAction::Deploy).unwrap();
    let mut dying = procs::spawn(&s.url, &s.schema, role(1, 0, false, Some("apply")));
    let dying_engine: u64 = dying.expect("READY", SETTLE)[0].parse().unwrap();
    dying.go();
    let started = Instant::now();
    while !s.runs().await.contains_key(&(deploy.id.0, "apply".to_owned())) {
        assert!(started.elapsed() < SETTLE, "process 1 never reached the apply step");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dying.kill();
    let held = s.store.fetch::<Job>(deploy.id.0).await.unwrap().value;
    assert_eq!(held.lease.map(|l| l.engine), Some(dying_engine), "the dead process still holds the lease");
    let apply = held.steps.iter().find(|st| st.spec.name == "apply").unwrap();
    assert_eq!(apply.state, StepState::Running, "it died mid-step");
    held
}

/// Processes 2 and 3, with clocks an hour on (past the lease), look at once.
/// Returns how many jobs each finished, and their stderr for a failure.
fn two_takers(s: &Setup) -> (Vec<u64>, ShowOnPanic) {
    let an_hour = 3600;
    let mut takers: Vec<_> =
        [2, 3].into_iter().map(|n| procs::spawn(&s.url, &s.schema, role(n, an_hour, false, None))).collect();
    for child in &mut takers {
        child.expect("READY", SETTLE);
    }
    for child in &mut takers {
        child.go();
    }
    let ended: Vec<_> = takers.into_iter().map(|c| c.done(SETTLE + Duration::from_secs(10))).collect();
    let finished: Vec<u64> = ended.iter().map(|e| e.0).collect();
    (finished, ShowOnPanic(ended.into_iter().map(|e| e.2).collect()))
}

/// A process is killed while its handler runs; once its lease lapsed, two
/// others look at the job at once: exactly one resumes it from the step it
/// was in, and nothing runs twice besides that step's resumed attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_step_has_its_job_resumed_by_exactly_one_other() {
    let Some(url) = common::server_url("a_process_killed_mid_step_has_its_job_resumed") else { return };
    let s = setup(url, "kill").await;
    let deploy = kill_process_1_in_apply(&s).await;
    let (finished, _show_logs) = two_takers(&s);
    assert_eq!(finished.iter().sum::<u64>(), 1, "exactly one process finished the job: {finished:?}");

    let done = s.store.fetch::<Job>(deploy.id.0).await.unwrap().value;
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let runs = s.runs().await;
    let apply_runs = &runs[&(deploy.id.0, "apply".to_owned())];
    assert_eq!(apply_runs.len(), 2, "killed once, resumed once: {apply_runs:?}");
    assert_eq!(apply_runs[0], (1, 1), "the dead process's attempt");
    assert!(matches!(apply_runs[1], (2 | 3, 2)), "one taker's second attempt: {apply_runs:?}");
    let resumer = apply_runs[1].0;
    for step in &done.steps {
        let ran = &runs[&(deploy.id.0, step.spec.name.clone())];
        if step.spec.name == "namespace" {
            assert_eq!(ran, &vec![(1, 1)], "finished steps are not run again");
        } else if step.spec.name != "apply" {
            assert_eq!(ran, &vec![(resumer, 1)], "{} ran once, by the resumer", step.spec.name);
        }
    }
    assert_eq!(s.state(s.t.sandbox.id).await, LifecycleState::Deploy);
    eprintln!("kill: process 1 died in apply; process {resumer} resumed the job; every other step ran once");
    s.finish().await;
}

/// As above, but the step says it cannot be resumed: exactly one other
/// process fails the job, and nothing of it runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_step_that_cannot_resume_has_its_job_failed_by_exactly_one_other() {
    let Some(url) = common::server_url("a_process_killed_mid_step_that_cannot_resume") else { return };
    let s = setup(url, "killfail").await;
    let mut steps = default_steps(GroupType::Odoo, JobAction::Deploy);
    for step in steps.iter_mut().filter(|st| st.name == "apply") {
        step.parameters.insert("resumable".into(), "false".into());
    }
    s.engine.publish_book(Actor::System, GroupType::Odoo, JobAction::Deploy, "deploy", steps).await.unwrap();
    let deploy = kill_process_1_in_apply(&s).await;
    let (finished, _show_logs) = two_takers(&s);
    assert_eq!(finished.iter().sum::<u64>(), 1, "exactly one process ended the job: {finished:?}");

    let failed = s.store.fetch::<Job>(deploy.id.0).await.unwrap().value;
    assert_eq!(failed.state, JobState::Error);
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("cannot be resumed")), "{:?}", failed.error);
    let runs = s.runs().await;
    assert_eq!(runs[&(deploy.id.0, "apply".to_owned())], vec![(1, 1)], "apply never ran again");
    assert!(!runs.contains_key(&(deploy.id.0, "wait-ready".to_owned())), "nothing after it ran");
    assert_eq!(s.state(s.t.sandbox.id).await, LifecycleState::Initialize, "a failed deploy leaves the state");
    s.finish().await;
}
