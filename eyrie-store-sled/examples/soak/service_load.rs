//! `service` mode: the `Eyrie` service over the chosen backend, used the way
//! a tenant's members use it.
//!
//! Setup builds the testkit's typical tenant once (project `acme`, group
//! `shop`, scopes prod/stage/dev, an owner, an admin, a developer and a user
//! member), then adds three soak scopes with deployment limits. Until the
//! deadline:
//!
//! - writer tasks act as the owner, the admin or the developer (in turn):
//!   they create deployments in the limited scopes (a `PolicyViolation` once
//!   a scope is full is expected), replace a deployment's settings, and move
//!   a deployment to another limited scope (the developer administers only
//!   two of them: elsewhere `PermissionDenied` is expected);
//! - reader tasks act as the user member, the developer, the admin, the
//!   owner or a platform administrator (not a member: its reads are answered
//!   `NotFound`, as for a missing id, as expected): `get_deployment`,
//!   `list_deployments` and `effective` on the deployments created so far.
//!
//! After `--deployments` successful creates, writers create only in `prod`
//! (limit 3, full), so the soak scopes keep room for moves.
//!
//! After the load, a run checks that `verify` finds no index problem, that
//! no limited scope holds more live deployments than its limit, and that
//! `list_deployments` returns exactly the acknowledged creates; a broken
//! check counts as an unexpected error.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eyrie_core::service::{DeploymentPatch, ScopeConfig};
use eyrie_core::storage::Index;
use eyrie_core::{Actor, DeploymentId, ErrorKind, Eyrie, GroupId, Role, Scope, Settings};
use eyrie_testkit::fixtures::{Tenant, new_deployment, new_scope, typical_tenant};

use super::args::Args;
use super::backend::Opened;
use super::store_load::Rng;
use super::watchdog::{self, Progress, Report};

/// The soak scopes: code, deployment limit, and whether the developer
/// administers it (`role_to_admin = developer`) and so may move deployments
/// into and out of it.
const SOAK_SCOPES: [(&str, u32, bool); 3] =
    [("soak-small", 10, false), ("soak-mid", 60, true), ("soak-big", 200, true)];

const OPS: [&str; 6] = ["create", "update", "move", "get", "list", "effective"];
const OUTCOMES: [&str; 5] = ["ok", "full", "denied", "conflict", "unexpected"];

/// Outcomes by operation.
#[derive(Default)]
struct Stats([[AtomicU64; 5]; 6]);

impl Stats {
    fn summary(&self) -> String {
        let mut out = Vec::new();
        for (op, counts) in OPS.iter().zip(&self.0) {
            let parts: Vec<String> = OUTCOMES
                .iter()
                .zip(counts)
                .map(|(name, n)| (name, n.load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .map(|(name, n)| format!("{name} {n}"))
                .collect();
            out.push(format!("{op}: {}", if parts.is_empty() { "none".into() } else { parts.join(", ") }));
        }
        out.join("; ")
    }
}

/// A limited scope writers use.
struct Limited {
    scope: Scope,
    limit: u32,
    developer_admin: bool,
}

/// What the tasks share.
struct World {
    eyrie: Eyrie,
    group: GroupId,
    /// prod, then the soak scopes.
    limited: Vec<Limited>,
    writers: [Actor; 3],
    readers: [Actor; 5],
    /// Every deployment whose create returned `Ok`.
    known: Mutex<Vec<DeploymentId>>,
    created: AtomicU64,
    budget: u64,
    stats: Stats,
}

impl World {
    async fn new(t: &Tenant, budget: u64) -> World {
        let mut limited = vec![Limited { scope: t.prod.clone(), limit: 3, developer_admin: false }];
        for (i, (code, limit, developer_admin)) in SOAK_SCOPES.into_iter().enumerate() {
            let config = ScopeConfig::default()
                .with_priority(40 + i as i32)
                .with_deployment_limit(limit)
                .with_role_to_admin(if developer_admin { Role::Developer } else { Role::Admin });
            let scope = t.eyrie.create_scope(t.owner, t.group.id, new_scope(code, config).unwrap()).await.unwrap();
            limited.push(Limited { scope, limit, developer_admin });
        }
        World {
            eyrie: t.eyrie.clone(),
            group: t.group.id,
            limited,
            writers: [t.owner, t.admin, t.developer],
            readers: [t.viewer, t.developer, t.admin, t.owner, t.root],
            known: Mutex::new(vec![t.shop.id, t.preview.id, t.sandbox.id]),
            created: AtomicU64::new(0),
            budget,
            stats: Stats::default(),
        }
    }

    fn random_known(&self, rng: &mut Rng) -> DeploymentId {
        let known = self.known.lock().unwrap();
        known[rng.below(known.len() as u64) as usize]
    }

    /// Records one call's outcome.
    fn count<T>(&self, progress: &Progress, op: usize, outcome: eyrie_core::Result<T>) {
        let class = match &outcome {
            Ok(_) => 0,
            Err(e) => match e.kind() {
                ErrorKind::PolicyViolation => 1,
                ErrorKind::PermissionDenied => 2,
                ErrorKind::Conflict => 3,
                _ => 4,
            },
        };
        self.stats.0[op][class].fetch_add(1, Ordering::Relaxed);
        match (class, outcome) {
            (0, _) => {}
            (4, Err(e)) => {
                if progress.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!("unexpected error in {}: {e}", OPS[op]);
                }
            }
            _ => {
                progress.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        let side = if op < 3 { &progress.writes } else { &progress.reads };
        side.fetch_add(1, Ordering::Relaxed);
    }
}

/// One run on a fresh store of the chosen backend in a temporary directory.
pub fn run(args: &Args) -> Report {
    let label = args.label();
    let progress = Arc::new(Progress::default());
    watchdog::start(&label, progress.clone(), Duration::from_secs(args.stall_secs), true);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let note = runtime.block_on(async {
        let opened = Opened::open(args, dir.path()).await;
        let tenant = typical_tenant(opened.store()).await.unwrap();
        let world = Arc::new(World::new(&tenant, args.deployments).await);
        let deadline = Instant::now() + Duration::from_secs(args.secs);
        let mut tasks = Vec::new();
        for w in 0..args.writers.unwrap_or(8) {
            let (world, progress) = (world.clone(), progress.clone());
            tasks.push(tokio::spawn(async move { writer(&world, w as u64, deadline, &progress).await }));
        }
        for r in 0..args.readers.unwrap_or(8) {
            let (world, progress) = (world.clone(), progress.clone());
            tasks.push(tokio::spawn(async move { reader(&world, r as u64, deadline, &progress).await }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        progress.closing.store(true, Ordering::Release);
        eprintln!("  {label}: {}", world.stats.summary());
        let broken = check(&world, &tenant).await;
        for problem in &broken {
            eprintln!("  {label}: check failed: {problem}");
        }
        progress.errors.fetch_add(broken.len() as u64, Ordering::Relaxed);
        drop((world, tenant));
        opened.close().await;
        if broken.is_empty() { String::new() } else { format!("{} after-run checks failed", broken.len()) }
    });
    Report::new(&label, &progress, started.elapsed(), false, &note)
}

async fn writer(world: &World, w: u64, deadline: Instant, progress: &Progress) {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15 ^ (w + 1));
    let actor = world.writers[w as usize % world.writers.len()];
    let developer = w as usize % world.writers.len() == 2;
    let mut next = 0u64;
    while Instant::now() < deadline {
        match rng.below(100) {
            0..30 => {
                next += 1;
                let scope = if world.created.load(Ordering::Relaxed) < world.budget {
                    &world.limited[rng.below(world.limited.len() as u64) as usize].scope
                } else {
                    &world.limited[0].scope
                };
                let input = new_deployment(&format!("w{w}-{next}"), scope).unwrap();
                let outcome = world.eyrie.create_deployment(actor, world.group, input).await;
                if let Ok(d) = &outcome {
                    world.known.lock().unwrap().push(d.id);
                    world.created.fetch_add(1, Ordering::Relaxed);
                }
                world.count(progress, 0, outcome);
            }
            30..75 => {
                let id = world.random_known(&mut rng);
                let settings =
                    Settings::default().with_replicas(rng.below(9) as u32).with_param("writer", format!("w{w}-{next}"));
                let patch = DeploymentPatch::default().with_settings(settings.into());
                world.count(progress, 1, world.eyrie.update_deployment(actor, id, patch).await);
            }
            _ => {
                let id = world.random_known(&mut rng);
                let targets: Vec<&Limited> = world.limited.iter().filter(|l| !developer || l.developer_admin).collect();
                let to = targets[rng.below(targets.len() as u64) as usize].scope.id;
                world.count(progress, 2, world.eyrie.move_deployment(actor, id, to).await);
            }
        }
    }
}

async fn reader(world: &World, r: u64, deadline: Instant, progress: &Progress) {
    let mut rng = Rng::new(0xd1b5_4a32_d192_ed03 ^ (r + 1));
    let actor = world.readers[r as usize % world.readers.len()];
    // The platform administrator is a stranger to the tenant: its reads are
    // answered as if the records did not exist.
    let stranger = r as usize % world.readers.len() == world.readers.len() - 1;
    let as_seen = |outcome: eyrie_core::Result<()>| match outcome {
        Err(e) if stranger && e.kind() == ErrorKind::NotFound => {
            Err(eyrie_core::Error::PermissionDenied("a stranger sees nothing".into()))
        }
        other => other,
    };
    while Instant::now() < deadline {
        match rng.below(3) {
            0 => {
                let id = world.random_known(&mut rng);
                world.count(progress, 3, as_seen(world.eyrie.get_deployment(actor, id).await.map(drop)));
            }
            1 => world.count(progress, 4, as_seen(world.eyrie.list_deployments(actor, world.group).await.map(drop))),
            _ => {
                let id = world.random_known(&mut rng);
                world.count(progress, 5, as_seen(world.eyrie.effective(actor, id).await.map(drop)));
            }
        }
    }
}

/// The after-run checks; returns what is wrong.
async fn check(world: &World, t: &Tenant) -> Vec<String> {
    let mut broken = Vec::new();
    let store = &t.store;
    match store.verify().await {
        Ok(problems) if problems.is_empty() => {}
        Ok(problems) => broken.push(format!("verify: {problems:?}")),
        Err(e) => broken.push(format!("verify failed: {e}")),
    }
    for l in &world.limited {
        match store.count(Index::ScopeLiveDeployments(l.scope.id)).await {
            Ok(n) if n <= u64::from(l.limit) => {}
            Ok(n) => {
                broken.push(format!("scope {} holds {n} live deployments, over its limit {}", l.scope.code, l.limit))
            }
            Err(e) => broken.push(format!("counting scope {} failed: {e}", l.scope.code)),
        }
    }
    let known: BTreeSet<DeploymentId> = world.known.lock().unwrap().iter().copied().collect();
    match world.eyrie.list_deployments(t.owner, world.group).await {
        Ok(listed) => {
            let listed: BTreeSet<DeploymentId> = listed.iter().map(|d| d.id).collect();
            if listed != known {
                broken.push(format!(
                    "list_deployments has {} deployments, {} creates were acknowledged; missing {:?}, extra {:?}",
                    listed.len(),
                    known.len(),
                    known.difference(&listed).collect::<Vec<_>>(),
                    listed.difference(&known).collect::<Vec<_>>()
                ));
            }
        }
        Err(e) => broken.push(format!("list_deployments failed: {e}")),
    }
    broken
}
