//! Crash safety: a child process commits through `Store::commit` and reports
//! each commit on stdout; the parent kills it with SIGKILL at random moments,
//! reopens the file each time and checks that every reported commit is there
//! exactly, that nothing else is (but the one commit that may have been in
//! flight), that unique values hold and that `verify()` finds nothing.
//!
//! The child is this test binary itself, re-executed on the hidden
//! `crash_child_writer` test with `EYRIE_REDB_CRASH_DIR` set.
//! The protocol, the writer and the checker are `eyrie_testkit::crash`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::db_path;
use eyrie_core::storage::Store;
use eyrie_store_redb::{RedbConfig, RedbStore};
use eyrie_testkit::crash::{self, Model, Rng, Tally, Writer};

const DIR_VAR: &str = "EYRIE_REDB_CRASH_DIR";
const SEED_VAR: &str = "EYRIE_REDB_CRASH_SEED";
const ROUNDS: u32 = 60;

/// The child: writes until killed. Hidden: it only does something when the
/// parent sets `EYRIE_REDB_CRASH_DIR`.
#[tokio::test]
#[ignore = "the child process of kill_and_reopen_loses_no_reported_commit"]
async fn crash_child_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else { return };
    let seed = std::env::var(SEED_VAR).ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let store = RedbStore::open(RedbConfig::new(db_path(Path::new(&dir)))).await.unwrap();
    Writer::new(&store, seed).await.run(&store).await;
}

#[test]
fn kill_and_reopen_loses_no_reported_commit() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(0x00c0_ffee_d00d_f00d);
    let mut model = Model::new();
    let mut tally = Tally::default();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe);
        child
            .args(["crash_child_writer", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(DIR_VAR, dir.path())
            .env(SEED_VAR, rng.next_u64().to_string());
        let state = crash::kill_one(child, &mut rng, &mut model, &dir.path().join("child-stderr.log"), round);

        // Reopen: exactly the acknowledged commits, plus perhaps the one in flight.
        let store = RedbStore::open_blocking(RedbConfig::new(db_path(dir.path()))).unwrap();
        let actual = crash::model_of(&runtime.block_on(store.dump()).unwrap());
        let problems = runtime.block_on(store.verify()).unwrap();
        assert!(problems.is_empty(), "round {round}: verify found {problems:#?}");
        tally.check(round, &mut model, &state, actual);
    }
    tally.finish(ROUNDS, model.len(), started.elapsed());
}
