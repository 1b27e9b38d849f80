//! A crash harness for stores: a child process commits random transactions
//! through `Store::commit` and reports each on stdout; the parent kills it
//! with SIGKILL at random moments, reopens the store and checks that every
//! reported commit is there exactly, that nothing else is (but the one
//! commit that may have been in flight), and that unique slugs hold.
//! Each backend's `tests/crash.rs` brings the child's store and the reopen;
//! this module brings the protocol, the writer and the checker.
//!
//! Protocol (one line each, starting with `@ ` and ending in ` $` so that a
//! line cut by the kill is ignored): `T <seq> <write>...` before a commit,
//! then `K <seq>` once it returned `Ok`, or `R <seq>` once it was refused as
//! the child predicted. A write is `P:<id>:<rev>:<slug>` (project) or
//! `G:<id>:<rev>:<slug>` (group), revision 0 meaning deleted. `BUG <text>`
//! reports a result the child did not predict.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a harness fails loudly

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use crate::conformance::Rng;
use eyrie_core::storage::{Check, EntityKind, RecordKey, Revision, Store, Transaction, Versioned};
use eyrie_core::{DeploymentGroup, ErrorKind, GroupType, Project, Slug, UserId};

/// A project with slug `slug`, owned by user 1.
pub fn project(id: u64, slug: &str) -> Project {
    let mut project = crate::builders::project(id, UserId(1));
    project.slug = Slug::from_name(slug);
    project
}

/// An Odoo group of `project` with slug `slug` and no clusters.
pub fn group(id: u64, project: &Project, slug: &str) -> DeploymentGroup {
    let mut group = crate::builders::group(id, project, GroupType::Odoo, &[]);
    group.slug = Slug::from_name(slug);
    group
}

/// One reported write: kind (`P`/`G`), id, revision (0 = deleted), slug.
pub type Write = (char, u64, u64, String);

/// What the store holds: (kind, id) → (revision, slug).
pub type Model = BTreeMap<(char, u64), (u64, String)>;

/// The model of a store's records (projects and groups only).
pub fn model_of(records: &[eyrie_core::storage::Stored]) -> Model {
    let mut model = Model::new();
    for stored in records {
        let stored = stored.clone();
        let rev = stored.revision.0;
        if let Some(p) = Versioned::<Project>::from_stored(stored.clone()) {
            model.insert(('P', p.value.id.0), (rev, p.value.slug.to_string()));
        } else if let Some(g) = Versioned::<DeploymentGroup>::from_stored(stored) {
            model.insert(('G', g.value.id.0), (rev, g.value.slug.to_string()));
        } else {
            panic!("unexpected record kind in the crash store");
        }
    }
    model
}

// ---------------------------------------------------------------- the child

/// The child's side: random transactions against a store, each announced
/// before and answered after it commits.
#[derive(Debug)]
pub struct Writer {
    model: Model,
    rng: Rng,
    seq: u64,
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("@ {line} $\n").as_bytes()).unwrap();
    out.flush().unwrap();
}

impl Writer {
    /// A writer that starts from what `store` holds, with `seed`.
    pub async fn new(store: &dyn Store, seed: u64) -> Writer {
        let model = model_of(&store.dump().await.expect("the store dumps"));
        Writer { model, rng: Rng::new(seed), seq: 0 }
    }

    /// Writes until the process is killed.
    pub async fn run(mut self, store: &dyn Store) {
        loop {
            self.step(store).await;
        }
    }

    fn pick(&mut self, kind: char) -> Option<(u64, u64, String)> {
        let ids: Vec<_> = self.model.iter().filter(|((k, _), _)| *k == kind).collect();
        if ids.is_empty() {
            return None;
        }
        let ((_, id), (rev, slug)) = ids[self.rng.below(ids.len() as u64) as usize];
        Some((*id, *rev, slug.clone()))
    }

    fn next_id(&self) -> u64 {
        self.model.keys().map(|(_, id)| *id).max().unwrap_or(0) + 1
    }

    fn slug_taken(&self, kind: char, slug: &str, except: u64) -> bool {
        self.model.iter().any(|((k, id), (_, s))| *k == kind && *id != except && s == slug)
    }

    /// One transaction: announce, commit, check the prediction, report.
    pub async fn step(&mut self, store: &dyn Store) {
        let projects = self.model.keys().filter(|(k, _)| *k == 'P').count() as u64;
        let choice = self.rng.below(100);
        let slug = format!("s{}", self.rng.below(30));
        // (transaction, writes to report, expected error)
        let (tx, writes, expected): (Transaction, Vec<Write>, Option<ErrorKind>) = match choice {
            0..=29 if projects < 40 => {
                let id = self.next_id();
                let taken = self.slug_taken('P', &slug, id);
                let tx = Transaction::new().create(project(id, &slug));
                (tx, vec![('P', id, 1, slug)], taken.then_some(ErrorKind::AlreadyExists))
            }
            0..=44 => {
                let Some((id, rev, _)) = self.pick('P') else { return };
                let taken = self.slug_taken('P', &slug, id);
                let tx = Transaction::new().update(&at(rev, project(id, "x")), project(id, &slug));
                (tx, vec![('P', id, rev + 1, slug)], taken.then_some(ErrorKind::AlreadyExists))
            }
            45..=59 => {
                // A conditional write: another record's revision, sometimes stale.
                let (Some((id, rev, own)), Some((other, other_rev, _))) = (self.pick('P'), self.pick('P')) else {
                    return;
                };
                let stale = self.rng.below(3) == 0;
                let checked = if stale { other_rev + 1 } else { other_rev };
                let check = Check::Revision(RecordKey::new(EntityKind::Project, other), Revision(checked));
                let tx = Transaction::new().check(check).update(&at(rev, project(id, &own)), project(id, &own));
                (tx, vec![('P', id, rev + 1, own)], stale.then_some(ErrorKind::Conflict))
            }
            60..=64 => {
                // A write based on a stale revision.
                let Some((id, rev, own)) = self.pick('P') else { return };
                let tx = Transaction::new().update(&at(rev + 1, project(id, &own)), project(id, &own));
                (tx, vec![('P', id, rev + 2, own)], Some(ErrorKind::Conflict))
            }
            65..=79 => {
                // Two records in one transaction: a new group and its project's bump.
                let Some((pid, rev, own)) = self.pick('P') else { return };
                let gid = self.next_id();
                let gslug = format!("g{pid}-{}", self.rng.below(3));
                let taken = self.slug_taken('G', &gslug, u64::MAX); // the slug names its project
                let owner = project(pid, &own);
                let tx = Transaction::new()
                    .create(group(gid, &owner, &gslug))
                    .update(&at(rev, owner.clone()), owner.clone());
                let writes = vec![('G', gid, 1, gslug), ('P', pid, rev + 1, own)];
                (tx, writes, taken.then_some(ErrorKind::AlreadyExists))
            }
            80..=89 => {
                let Some((gid, rev, gslug)) = self.pick('G') else { return };
                let read = Versioned { revision: Revision(rev), value: group(gid, &project(0, "x"), &gslug) };
                (Transaction::new().delete(&read), vec![('G', gid, 0, gslug)], None)
            }
            _ => {
                let Some((id, rev, own)) = self.pick('P') else { return };
                (Transaction::new().delete(&at(rev, project(id, &own))), vec![('P', id, 0, own)], None)
            }
        };
        self.seq += 1;
        let seq = self.seq;
        let listed: Vec<String> = writes.iter().map(|(k, id, rev, slug)| format!("{k}:{id}:{rev}:{slug}")).collect();
        say(&format!("T {seq} {}", listed.join(" ")));
        let result = store.commit(tx).await;
        match (result, expected) {
            (Ok(_), None) => {
                for (kind, id, rev, slug) in writes {
                    if rev == 0 {
                        self.model.remove(&(kind, id));
                    } else {
                        self.model.insert((kind, id), (rev, slug));
                    }
                }
                say(&format!("K {seq}"));
            }
            (Err(e), Some(kind)) if e.kind() == kind => say(&format!("R {seq}")),
            (result, expected) => {
                say(&format!("BUG {seq}: expected {expected:?}, got {result:?}"));
                panic!("unexpected commit result");
            }
        }
    }
}

fn at<T>(revision: u64, value: T) -> Versioned<T> {
    Versioned { revision: Revision(revision), value }
}

// ---------------------------------------------------------------- the parent

/// Applies the writes of one `T` line to `model`.
fn apply(model: &mut Model, writes: &[Write]) {
    for (kind, id, rev, slug) in writes {
        if *rev == 0 {
            model.remove(&(*kind, *id));
        } else {
            model.insert((*kind, *id), (*rev, slug.clone()));
        }
    }
}

fn parse_writes(fields: &[&str]) -> Vec<Write> {
    fields
        .iter()
        .map(|w| {
            let parts: Vec<&str> = w.split(':').collect();
            assert_eq!(parts.len(), 4, "bad write {w:?}");
            (parts[0].chars().next().unwrap(), parts[1].parse().unwrap(), parts[2].parse().unwrap(), parts[3].into())
        })
        .collect()
}

/// Checks the reopened store against the acknowledged commits: it must
/// hold exactly `model`, or `model` plus the commit that was `in_flight`
/// when the child died. Returns whether the in-flight commit is there.
pub fn reconcile(model: &Model, in_flight: Option<&[Write]>, actual: &Model) -> Result<bool, String> {
    if actual == model {
        return Ok(false);
    }
    if let Some(writes) = in_flight {
        let mut with_in_flight = model.clone();
        apply(&mut with_in_flight, writes);
        if *actual == with_in_flight {
            return Ok(true);
        }
    }
    Err(format!(
        "the store matches no outcome of the reported commits:\n  expected {model:?}\n  in flight {in_flight:?}\n  found    {actual:?}"
    ))
}

/// What one round saw on the child's stdout.
#[derive(Debug, Default)]
pub struct Round {
    /// Commits answered `K`.
    pub acknowledged: u64,
    /// Commits answered `R`.
    pub refused: u64,
    /// The `T` line not answered when the child died.
    pub in_flight: Option<Vec<Write>>,
}

/// Feeds one protocol line to the model; returns whether it was an answer.
pub fn feed(line: &str, model: &mut Model, round: &mut Round) -> bool {
    // libtest may print "test crash_child_writer ... " in front of the first line.
    let Some(line) = line.split_once("@ ").and_then(|(_, rest)| rest.strip_suffix(" $")) else { return false };
    let fields: Vec<&str> = line.split(' ').collect();
    match fields.as_slice() {
        ["BUG", ..] => panic!("the child saw an unpredicted result: {line}"),
        ["T", _, writes @ ..] => {
            round.in_flight = Some(parse_writes(writes));
            false
        }
        ["K", _] => {
            let writes = round.in_flight.take().expect("K without T");
            apply(model, &writes);
            round.acknowledged += 1;
            true
        }
        ["R", _] => {
            round.in_flight.take().expect("R without T");
            round.refused += 1;
            true
        }
        _ => false,
    }
}

/// Kills the child if the parent fails before it meant to.
#[derive(Debug)]
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs one round: spawns `child` (stdout piped, stderr to `child_log`),
/// lets it answer a random number of commits, kills it a few milliseconds
/// later and feeds everything it said to `model`.
pub fn kill_one(mut child: Command, rng: &mut Rng, model: &mut Model, child_log: &Path, round: u32) -> Round {
    let mut child = child.stdout(Stdio::piped()).stderr(std::fs::File::create(child_log).unwrap()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut child = KillOnDrop(child);
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let answers_before_kill = 1 + rng.below(16);
    let mut state = Round::default();
    let mut answers = 0;
    while answers < answers_before_kill {
        let Ok(line) = lines.recv() else {
            let log = std::fs::read_to_string(child_log).unwrap_or_default();
            panic!("round {round}: the child stopped on its own:\n{log}");
        };
        answers += u64::from(feed(&line, model, &mut state));
    }
    std::thread::sleep(Duration::from_micros(rng.below(8_000)));
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    reader.join().unwrap();
    for line in lines.try_iter() {
        feed(&line, model, &mut state);
    }
    state
}

/// What the rounds of one crash test saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Children killed.
    pub kills: u64,
    /// Acknowledged commits verified.
    pub acknowledged: u64,
    /// Predicted refusals.
    pub refused: u64,
    /// Rounds whose in-flight commit was found applied.
    pub in_flight_applied: u64,
    /// Rounds whose in-flight commit was found absent.
    pub in_flight_lost: u64,
}

impl Tally {
    /// Checks the reopened store's records (`actual`) against `model` and the
    /// round's in-flight commit, and that no project slug is held twice;
    /// then takes `actual` as the model of the next round.
    pub fn check(&mut self, round: u32, model: &mut Model, state: &Round, actual: Model) {
        self.kills += 1;
        self.acknowledged += state.acknowledged;
        self.refused += state.refused;
        match reconcile(model, state.in_flight.as_deref(), &actual) {
            Ok(true) => self.in_flight_applied += 1,
            Ok(false) if state.in_flight.is_some() => self.in_flight_lost += 1,
            Ok(false) => {}
            Err(e) => panic!("round {round}: {e}"),
        }
        *model = actual;
        let mut slugs = BTreeSet::new();
        for ((kind, id), (_, slug)) in model.iter() {
            if *kind == 'P' {
                assert!(slugs.insert(slug.clone()), "round {round}: slug {slug} held twice (by {id} too)");
            }
        }
    }

    /// Prints the tally and checks it means something: `rounds` kills and at
    /// least one acknowledged commit a round.
    pub fn finish(&self, rounds: u32, records: usize, elapsed: Duration) {
        eprintln!(
            "crash test: {} kills, {} acknowledged commits and {} predicted refusals verified, \
             in-flight commit applied {}× / absent {}×, {records} records at the end, {elapsed:?}",
            self.kills, self.acknowledged, self.refused, self.in_flight_applied, self.in_flight_lost
        );
        assert_eq!(self.kills, u64::from(rounds));
        assert!(self.acknowledged >= u64::from(rounds), "too few commits to mean anything: {}", self.acknowledged);
    }
}

/// The checker itself: a lost, an extra or a half-applied commit is noticed
/// (the crash test can fail), and a line cut by the kill is ignored.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_notices_lost_extra_and_partial_commits() {
        let mut model = Model::new();
        let mut round = Round::default();
        assert!(!feed("test crash_child_writer ... @ T 1 P:1:1:s1 $", &mut model, &mut round));
        assert!(feed("@ K 1 $", &mut model, &mut round));
        assert!(!feed("@ T 2 G:2:1:g1-0 P:1:2:s1 $", &mut model, &mut round));
        assert!(!feed("@ K 2", &mut model, &mut round), "a line cut by the kill is ignored");
        assert_eq!(model, Model::from([(('P', 1), (1, "s1".to_string()))]));
        let in_flight = round.in_flight.clone().unwrap();

        let both = Model::from([(('P', 1), (2, "s1".to_string())), (('G', 2), (1, "g1-0".to_string()))]);
        assert_eq!(reconcile(&model, Some(&in_flight), &model), Ok(false));
        assert_eq!(reconcile(&model, Some(&in_flight), &both), Ok(true));
        let lost = Model::new();
        assert!(reconcile(&model, Some(&in_flight), &lost).is_err());
        let half = Model::from([(('P', 1), (2, "s1".to_string()))]);
        assert!(reconcile(&model, Some(&in_flight), &half).is_err());
        assert!(reconcile(&model, None, &both).is_err(), "an extra commit without one in flight");
    }
}
