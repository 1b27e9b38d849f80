//! Shared by the integration tests: a watchdog that turns a sled stall into
//! a test failure, and a small fixture.

#![allow(dead_code)] // each test file uses a different part

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use eyrie_core::storage::{Check, Index, Store, Transaction};
use eyrie_core::{DeploymentGroup, GroupType, Project, Scope, UserId};
use eyrie_store_sled::{SledConfig, SledStore};
use eyrie_testkit::builders;

/// Runs `body` on its own thread and tokio runtime; fails the test with
/// "sled stalled" if it has not finished after `secs` seconds, instead of
/// hanging CI (the stuck thread is abandoned; the test process exits when
/// the harness does).
pub(crate) fn watchdog<T, F>(secs: u64, name: &str, body: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: Future<Output = T>,
{
    let (done, outcome) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("watched-{name}"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            let value = runtime.block_on(body());
            let _ = done.send(value);
        })
        .unwrap();
    match outcome.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => {
            thread.join().unwrap();
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("sled stalled: no progress for {secs} s in {name}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: surface its panic message.
            match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => panic!("{name} ended without a result"),
            }
        }
    }
}

/// A project, one odoo group and three scopes (`prod`, `stage`, `dev`).
pub(crate) struct Fixture {
    pub(crate) project: Project,
    pub(crate) group: DeploymentGroup,
    pub(crate) scopes: Vec<Scope>,
}

pub(crate) fn fixture() -> Fixture {
    let project = builders::project(1, UserId(1));
    let group = builders::group(2, &project, GroupType::Odoo, &[1]);
    let scopes =
        ["prod", "stage", "dev"].iter().enumerate().map(|(i, c)| builders::scope(10 + i as u64, &group, c)).collect();
    Fixture { project, group, scopes }
}

impl Fixture {
    /// The transaction creating the fixture.
    pub(crate) fn create(&self) -> Transaction {
        self.scopes.iter().fold(Transaction::new().create(self.project.clone()).create(self.group.clone()), |tx, s| {
            tx.create(s.clone())
        })
    }
}

/// "Fewer than `limit` live deployments in `scope`".
pub(crate) fn room_in(scope: &Scope, limit: u64) -> Check {
    Check::CountBelow {
        index: Index::ScopeLiveDeployments(scope.id),
        limit,
        message: format!("{} is full", scope.code),
    }
}

/// Opens a durable store in `dir`.
pub(crate) async fn open(dir: &std::path::Path) -> SledStore {
    SledStore::open(SledConfig::new(dir)).await.unwrap()
}

/// Asserts the store's indexes agree with its records.
pub(crate) async fn assert_consistent(store: &dyn Store) {
    let problems = store.verify().await.unwrap();
    assert!(problems.is_empty(), "verify found: {problems:#?}");
}

/// The raw database without sled's background flusher: that thread keeps the
/// file lock for up to its interval after the handle is dropped, and the
/// store opened right after would find the file still locked.
///
/// Opens the directory with sled itself, waiting (bounded) for the file lock
/// a just-closed store's background threads may still hold for a moment.
pub(crate) fn raw_sled(path: &std::path::Path) -> sled::Result<sled::Db> {
    let config = sled::Config::new().path(path).flush_every_ms(None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match config.open() {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                assert!(std::time::Instant::now() < deadline, "the sled lock was still held after 5 s: {e}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}
