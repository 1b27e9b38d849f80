//! A server restart mid-run: while PostgreSQL is down every call fails with
//! a retryable error; once it is back, the same store (never reopened)
//! serves calls again, and every commit acknowledged before, during or after
//! is there.
//!
//! Needs `EYRIE_POSTGRES_CTL`: a command that stops or starts the server
//! when `stop` or `start` is appended (`.ci/run` sets it). This binary holds
//! only this test, so no other test sees the server go away.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eyrie_core::storage::{EntityKind, Store, Transaction};
use eyrie_core::{ErrorKind, Project, UserId};
use eyrie_store_postgres::PostgresStore;

const CTL_VAR: &str = "EYRIE_POSTGRES_CTL";

fn ctl(command: &str, action: &str) {
    let status = std::process::Command::new("sh").arg("-c").arg(format!("{command} {action}")).status().unwrap();
    assert!(status.success(), "`{command} {action}` failed: {status}");
}

/// Starts the server again if the test fails while it is down.
struct StartOnDrop(String);

impl Drop for StartOnDrop {
    fn drop(&mut self) {
        ctl(&self.0, "start");
    }
}

fn project(id: u64) -> Project {
    eyrie_testkit::builders::project(id, UserId(1))
}

/// Creates projects 1, 2, … until told to stop; returns the acknowledged
/// ids and the ids whose commit failed. Every failure must be retryable.
async fn writer(store: PostgresStore, stop: Arc<AtomicBool>) -> (Vec<u64>, Vec<u64>) {
    let (mut acknowledged, mut failed, mut id) = (Vec::new(), Vec::new(), 0);
    while !stop.load(Ordering::Relaxed) {
        id += 1;
        match store.commit(Transaction::new().create(project(id))).await {
            Ok(_) => acknowledged.push(id),
            Err(e) => {
                assert!(e.is_retryable(), "a failure while the server restarts must be retryable: {e}");
                failed.push(id);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    (acknowledged, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_fail_retryably_while_the_server_is_down_then_succeed_without_reopening() {
    let test = "calls_fail_retryably_while_the_server_is_down";
    let Some(url) = common::server_url(test) else { return };
    let Ok(command) = std::env::var(CTL_VAR) else {
        common::skip(test, &format!("{CTL_VAR} is not set: the test cannot stop and start the server"));
        return;
    };
    let schema = common::fresh_schema("restart");
    let config = common::config(&url, &schema).pool_size(4).connect_timeout(Duration::from_secs(2));
    let store = PostgresStore::open(config).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writing = tokio::spawn(writer(store.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let restart = {
        let command = command.clone();
        tokio::task::spawn_blocking(move || ctl(&command, "stop"))
    };
    restart.await.unwrap();
    let guard = StartOnDrop(command);
    for (what, result) in [
        ("get", store.get(eyrie_core::storage::RecordKey::new(EntityKind::Project, 1)).await.map(drop)),
        ("list_kind", store.list_kind(EntityKind::Project).await.map(drop)),
        ("commit", store.commit(Transaction::new().create(project(u64::MAX / 2))).await.map(drop)),
    ] {
        let e = result.expect_err(what);
        assert_eq!((e.kind(), e.is_retryable()), (ErrorKind::Backend, true), "{what} while down: {e}");
    }
    tokio::task::spawn_blocking(move || drop(guard)).await.unwrap(); // starts the server

    // The same store serves again: the writer's commits succeed (bounded wait).
    let started = Instant::now();
    let records = loop {
        let records = store.list_kind(EntityKind::Project).await;
        if let Ok(records) = &records
            && records.len() > 5
        {
            break records.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no successful call 30 s after the restart: {records:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let before_stop = records.len();
    tokio::time::sleep(Duration::from_millis(500)).await; // let the writer commit after the restart
    stop.store(true, Ordering::Relaxed);
    let (acknowledged, failed) = writing.await.unwrap();
    let last_failure = *failed.last().expect("the writer saw the server go away");
    let after = acknowledged.iter().filter(|id| **id > last_failure).count();
    assert!(after > 0, "the writer's commits succeed again after the restart");
    let present: std::collections::BTreeSet<u64> =
        store.list_kind(EntityKind::Project).await.unwrap().into_iter().map(|s| s.record.key().id).collect();
    assert!(present.len() >= before_stop);
    let lost: Vec<_> = acknowledged.iter().filter(|id| !present.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged commits lost across the restart: {lost:?}");
    common::assert_consistent(&store).await;
    eprintln!(
        "restart: {} commits acknowledged ({after} after the restart), {} retryable failures while the server was down",
        acknowledged.len(),
        failed.len()
    );
    drop(store);
    common::drop_schemas(&url, &[schema]).await;
}
