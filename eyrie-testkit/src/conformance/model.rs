//! The model-based check: random transactions run against the store and
//! against a deliberately naive reference model (a map scanned in full for
//! every question); every result and every read must agree.

use std::collections::BTreeMap;
use std::sync::Arc;

use eyrie_core::storage::{Check, Entity, Index, Record, RecordKey, Revision, Store, Transaction, UniqueKey, Write};
use eyrie_core::{ErrorKind, GroupType, ProjectId, UserId};

use crate::builders;

/// A tiny deterministic PRNG (xorshift64*), so runs are reproducible from a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is mapped to a fixed non-zero seed).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[derive(Debug, Default, Clone)]
struct Model {
    records: BTreeMap<RecordKey, (Revision, Record)>,
}

impl Model {
    fn count(&self, index: Index) -> u64 {
        self.records.values().filter(|(_, r)| r.indexes().contains(&index)).count() as u64
    }

    fn unique_holder(&self, unique: &UniqueKey, except: RecordKey) -> bool {
        self.records.iter().any(|(k, (_, r))| *k != except && r.unique_keys().contains(unique))
    }

    fn expect_rev(&self, key: RecordKey, rev: Revision) -> Result<(), ErrorKind> {
        match self.records.get(&key) {
            None => Err(ErrorKind::NotFound),
            Some((r, _)) if *r != rev => Err(ErrorKind::Conflict),
            Some(_) => Ok(()),
        }
    }

    fn apply(&mut self, tx: &Transaction) -> Result<(), ErrorKind> {
        for check in &tx.checks {
            match check {
                Check::Revision(key, rev) => self.expect_rev(*key, *rev)?,
                Check::Absent(key) if self.records.contains_key(key) => return Err(ErrorKind::AlreadyExists),
                Check::Absent(_) => {}
                Check::CountBelow { index, limit, .. } if self.count(*index) >= *limit => {
                    return Err(ErrorKind::PolicyViolation);
                }
                Check::Count { index, count } if self.count(*index) != *count => return Err(ErrorKind::Conflict),
                _ => {}
            }
        }
        let mut scratch = self.clone();
        for write in &tx.writes {
            match write {
                Write::Create(record) | Write::Update(record, _) => {
                    let key = record.key();
                    let revision = match write {
                        Write::Update(_, rev) => {
                            scratch.expect_rev(key, *rev)?;
                            rev.next()
                        }
                        _ if scratch.records.contains_key(&key) => return Err(ErrorKind::AlreadyExists),
                        _ => Revision::FIRST,
                    };
                    if record.unique_keys().iter().any(|u| scratch.unique_holder(u, key)) {
                        return Err(ErrorKind::AlreadyExists);
                    }
                    scratch.records.insert(key, (revision, record.clone()));
                }
                Write::Delete(key, rev) => {
                    scratch.expect_rev(*key, *rev)?;
                    scratch.records.remove(key);
                }
            }
        }
        *self = scratch;
        Ok(())
    }
}

fn random_record(rng: &mut Rng) -> Record {
    let id = 1 + rng.below(4);
    match rng.below(3) {
        0 => {
            let mut p = builders::project(id, UserId(1));
            p.slug = format!("p{}", rng.below(3)).parse().unwrap_or(p.slug);
            p.into_record()
        }
        1 => {
            let project = builders::project(1 + rng.below(2), UserId(1));
            let mut g = builders::group(id, &project, GroupType::Odoo, &[1]);
            g.slug = format!("g{}", rng.below(2)).parse().unwrap_or(g.slug);
            g.into_record()
        }
        _ => {
            let mut m = eyrie_core::Membership {
                id: eyrie_core::MembershipId(id),
                project_id: ProjectId(1 + rng.below(2)),
                user_id: UserId(1 + rng.below(2)),
                role: eyrie_core::Role::User,
                created_at: builders::T0,
            };
            if rng.below(2) == 0 {
                m.role = eyrie_core::Role::Admin;
            }
            m.into_record()
        }
    }
}

fn random_revision(model: &Model, key: RecordKey, rng: &mut Rng) -> Revision {
    let current = model.records.get(&key).map_or(Revision::FIRST, |(r, _)| *r);
    match rng.below(10) {
        0 => Revision(current.0.saturating_sub(1).max(1)),
        1 => current.next(),
        _ => current,
    }
}

fn random_transaction(model: &Model, rng: &mut Rng) -> Transaction {
    let mut tx = Transaction::new();
    if rng.below(4) == 0 {
        let index = Index::ProjectGroups(ProjectId(1 + rng.below(2)));
        tx.checks.push(Check::CountBelow { index, limit: 1 + rng.below(4), message: "full".into() });
    }
    if rng.below(6) == 0 {
        let key = random_record(rng).key();
        tx.checks.push(Check::Revision(key, random_revision(model, key, rng)));
    }
    for _ in 0..1 + rng.below(2) {
        let record = random_record(rng);
        let key = record.key();
        let exists = model.records.contains_key(&key);
        let write = match (exists, rng.below(10)) {
            (false, 0..=7) | (true, 0) => Write::Create(record),
            (true, 1..=6) | (false, 8) => Write::Update(record, random_revision(model, key, rng)),
            _ => Write::Delete(key, random_revision(model, key, rng)),
        };
        tx.writes.push(write);
    }
    tx
}

/// Runs `steps` random transactions (from `seed`) on `store` and on the
/// model, comparing every commit result, the full dump, every list and every
/// unique lookup after each step.
pub async fn model_based(store: Arc<dyn Store>, seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    let indexes: Vec<Index> = (1..=2)
        .flat_map(|p| [Index::ProjectGroups(ProjectId(p)), Index::ProjectMembers(ProjectId(p))])
        .chain((1..=2).map(|u| Index::UserMemberships(UserId(u))))
        .collect();
    let uniques: Vec<UniqueKey> = (0..3)
        .map(|i| UniqueKey::ProjectSlug(format!("p{i}")))
        .chain((1..=2).flat_map(|p| (0..2).map(move |g| UniqueKey::GroupSlug(ProjectId(p), format!("g{g}")))))
        .collect();
    let (mut oks, mut errs) = (0, 0);
    for step in 0..steps {
        let tx = random_transaction(&model, &mut rng);
        let expected = model.apply(&tx);
        let got = store.commit(tx.clone()).await.map(|_| ()).map_err(|e| e.kind());
        assert_eq!(got, expected, "step {step} (seed {seed:#x}): store and model disagree on {tx:#?}");
        if got.is_ok() {
            oks += 1
        } else {
            errs += 1
        }
        let dump = store.dump().await.expect("dump");
        let want: Vec<(RecordKey, Revision, &Record)> =
            model.records.iter().map(|(k, (r, rec))| (*k, *r, rec)).collect();
        let have: Vec<(RecordKey, Revision, &Record)> =
            dump.iter().map(|s| (s.record.key(), s.revision, &s.record)).collect();
        assert_eq!(have, want, "step {step} (seed {seed:#x}): dumps differ");
        for &index in &indexes {
            let listed: Vec<RecordKey> =
                store.list(index).await.expect("list").iter().map(|s| s.record.key()).collect();
            let expected: Vec<RecordKey> =
                model.records.iter().filter(|(_, (_, r))| r.indexes().contains(&index)).map(|(k, _)| *k).collect();
            assert_eq!(listed, expected, "step {step}: list {index:?} differs");
            assert_eq!(store.count(index).await.expect("count"), expected.len() as u64, "step {step}: count {index:?}");
        }
        for unique in &uniques {
            let holder = store.get_unique(unique).await.expect("unique").map(|s| s.record.key());
            let expected = model.records.iter().find(|(_, (_, r))| r.unique_keys().contains(unique)).map(|(k, _)| *k);
            assert_eq!(holder, expected, "step {step}: holder of {unique} differs");
        }
    }
    assert!(
        oks > steps / 10 && errs > steps / 10,
        "the random mix should both succeed and fail ({oks} ok, {errs} refused)"
    );
    assert!(store.verify().await.expect("verify").is_empty());
}
