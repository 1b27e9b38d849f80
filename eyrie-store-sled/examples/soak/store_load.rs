//! `store` mode: many reader and writer tasks on one `Arc<dyn Store>`.
//!
//! Only [`run`] knows the backend (`--store sled|redb`); [`drive`] works on
//! any `Store`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use eyrie_core::storage::{Check, Entity, EntityKind, Index, RecordKey, Store, StoreExt, Transaction, UniqueKey};
use eyrie_core::{Deployment, ErrorKind, GroupType, Scope, UserId};
use eyrie_testkit::builders;

use super::args::Args;
use super::backend::Opened;
use super::watchdog::{self, Progress, Report};

/// Live deployments allowed per scope.
const LIMIT: u64 = 40;
const SCOPES: u64 = 4;

/// One run on a fresh store of the chosen backend in a temporary directory.
pub fn run(args: &Args) -> Report {
    let label = args.label();
    let progress = Arc::new(Progress::default());
    watchdog::start(&label, progress.clone(), Duration::from_secs(args.stall_secs), true);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    runtime.block_on(async {
        let opened = Opened::open(args, dir.path()).await;
        let store = opened.store();
        let deadline = Instant::now() + Duration::from_secs(args.secs);
        drive(store.clone(), args.writers.unwrap_or(8), args.readers.unwrap_or(8), deadline, &progress).await;
        progress.closing.store(true, Ordering::Release);
        let problems = store.verify().await.unwrap();
        assert!(problems.is_empty(), "verify after the soak: {problems:#?}");
        drop(store);
        opened.close().await;
    });
    Report::new(&label, &progress, started.elapsed(), false, "")
}

/// Runs `writers` writer and `readers` reader tasks on `store` until `deadline`.
pub async fn drive(store: Arc<dyn Store>, writers: usize, readers: usize, deadline: Instant, progress: &Arc<Progress>) {
    let project = builders::project(1, UserId(1));
    let group = builders::group(2, &project, GroupType::Odoo, &[1]);
    let scopes: Vec<Scope> = (0..SCOPES).map(|i| builders::scope(10 + i, &group, &format!("tier-{i}"))).collect();
    let setup =
        scopes.iter().fold(Transaction::new().create(project).create(group.clone()), |tx, s| tx.create(s.clone()));
    store.commit(setup).await.unwrap();
    let world = Arc::new(World { group, scopes });
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, world, progress) = (store.clone(), world.clone(), progress.clone());
        tasks.push(tokio::spawn(async move { writer(&*store, &world, w as u64, deadline, &progress).await }));
    }
    for r in 0..readers {
        let (store, world, progress) = (store.clone(), world.clone(), progress.clone());
        tasks.push(tokio::spawn(async move { reader(&*store, &world, r as u64, deadline, &progress).await }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

struct World {
    group: eyrie_core::DeploymentGroup,
    scopes: Vec<Scope>,
}

fn room_in(scope: &Scope) -> Check {
    Check::CountBelow { index: Index::ScopeLiveDeployments(scope.id), limit: LIMIT, message: "scope full".into() }
}

pub use eyrie_testkit::conformance::Rng;

fn expected(e: &eyrie_core::Error) -> bool {
    matches!(e.kind(), ErrorKind::PolicyViolation | ErrorKind::Conflict | ErrorKind::NotFound)
}

async fn writer(store: &dyn Store, world: &World, w: u64, deadline: Instant, progress: &Progress) {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15 ^ (w + 1));
    let mut next = 0u64;
    while Instant::now() < deadline {
        let scope = &world.scopes[rng.below(SCOPES) as usize];
        let outcome = match rng.below(100) {
            // Create with a limit check; when the scope is full, delete one of its deployments.
            0..45 => {
                next += 1;
                let id = ((w + 1) << 32) | next;
                let d = builders::deployment(id, &world.group, scope, &format!("w{w}-{next}"));
                match store.commit(Transaction::new().check(room_in(scope)).create(d)).await {
                    Err(e) if e.kind() == ErrorKind::PolicyViolation => delete_one(store, scope, &mut rng).await,
                    other => other.map(drop),
                }
            }
            // Update one deployment of the scope from what was read.
            45..85 => match pick(store, scope, &mut rng).await {
                Ok(Some(read)) => {
                    let mut changed = read.value.clone();
                    changed.settings.replicas = Some(rng.below(9) as u32);
                    store.commit(Transaction::new().update(&read, changed)).await.map(drop)
                }
                other => other.map(drop),
            },
            // Move one to another scope, if that one has room and is unchanged.
            _ => match pick(store, scope, &mut rng).await {
                Ok(Some(read)) => {
                    let target = &world.scopes[rng.below(SCOPES) as usize];
                    match store.fetch::<Scope>(target.id.0).await {
                        Ok(target_read) => {
                            let mut moved = read.value.clone();
                            moved.scope_id = target.id;
                            let tx =
                                Transaction::new().unchanged(&target_read).check(room_in(target)).update(&read, moved);
                            store.commit(tx).await.map(drop)
                        }
                        Err(e) => Err(e),
                    }
                }
                other => other.map(drop),
            },
        };
        count(progress, &progress.writes, outcome);
    }
}

async fn pick(
    store: &dyn Store,
    scope: &Scope,
    rng: &mut Rng,
) -> eyrie_core::Result<Option<eyrie_core::storage::Versioned<Deployment>>> {
    let listed = store.children::<Deployment>(Index::ScopeLiveDeployments(scope.id)).await?;
    Ok(listed.get(rng.below(listed.len() as u64) as usize).cloned())
}

async fn delete_one(store: &dyn Store, scope: &Scope, rng: &mut Rng) -> eyrie_core::Result<()> {
    match pick(store, scope, rng).await? {
        Some(read) => store.commit(Transaction::new().delete(&read)).await.map(drop),
        None => Ok(()),
    }
}

fn count(progress: &Progress, side: &std::sync::atomic::AtomicU64, outcome: eyrie_core::Result<()>) {
    match outcome {
        Ok(()) => {}
        Err(e) if expected(&e) => {
            progress.refused.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            if progress.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                eprintln!("unexpected error: {e}");
            }
        }
    }
    side.fetch_add(1, Ordering::Relaxed);
}

async fn reader(store: &dyn Store, world: &World, r: u64, deadline: Instant, progress: &Progress) {
    let mut rng = Rng::new(0xd1b5_4a32_d192_ed03 ^ (r + 1));
    while Instant::now() < deadline {
        let scope = &world.scopes[rng.below(SCOPES) as usize];
        let outcome = match rng.below(4) {
            0 => store.list(Index::ScopeDeployments(scope.id)).await.map(drop),
            1 => store.count(Index::GroupDeployments(world.group.id)).await.map(drop),
            2 => store.get_unique(&UniqueKey::ScopeCode(world.group.id, scope.code.to_string())).await.map(drop),
            _ => {
                let id = ((rng.below(8) + 1) << 32) | (rng.below(50) + 1);
                store.get(RecordKey::new(EntityKind::Deployment, id)).await.map(drop)
            }
        };
        let _ = scope.key();
        count(progress, &progress.reads, outcome);
    }
}
