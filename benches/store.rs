//! The cost of the storage layer: [`RedbStore`] and [`SledStore`] (the `Store` contract over the shared engine)
//! side by side with raw redb, raw sled and SQLite doing the equivalent work, in the same run.
//!
//! Per-operation groups (`get_N`, `create_N`, `list_group_N`, `update_N`), at 1,000 and 100,000
//! deployments preloaded (groups of 50, so a list is 50 records at both sizes):
//!
//! - **get**: one deployment by id, decoded.
//! - **create**: one deployment with its index entries and unique slug, checked absent first. Each
//!   create is timed alone and then deleted, untimed, so the store keeps its size.
//! - **list_group**: the 50 deployments of one group, in id order, decoded.
//! - **update**: a conditional update: the write is refused unless the stored revision is the one
//!   the caller holds (no read before it: the bench tracks revisions).
//!
//! Every backend stores the same bytes: the envelope of `codec::encode` under `RecordKey::to_bytes`,
//! index entries from `Index::entry`, unique keys from `UniqueKey::to_bytes` (SQLite: one row per
//! deployment holding the same envelope, with SQL indexes for the same lists), and every read
//! decodes them with `codec::decode`. The raw update checks the revision in the envelope header and
//! writes the new envelope; it does not decode the old record or diff its indexes, which the engine
//! does. Per-operation groups run without an fsync per commit: `RedbStore` in
//! `Durability::Eventual { 500 ms }`, raw redb with `redb::Durability::None` and one durable commit
//! every 500 ms, `SledStore` with `Durability::Eventual { 500 ms }`, raw sled with its 500 ms
//! background flush, SQLite in WAL mode with `synchronous=NORMAL`.
//!
//! Durable groups (`durable_commit_1w`, `durable_commit_16w`): creates, each durable before it
//! returns (`Durability::Immediate`, `Durability::Immediate`, raw redb
//! `redb::Durability::Immediate`, raw sled `flush()` after each transaction, SQLite
//! `synchronous=FULL`), from 1 and from 16 threads; criterion reports commits/s as elements/s.
//!
//! Scope groups (`create_in_scope`): a create with the `CountBelow` check the service puts on a
//! scope's live deployments, into an empty scope and into one of 10,000, on `RedbStore`,
//! `SledStore` and `MemoryStore` (the check reads a maintained counter, so both should cost the
//! same). Service group (`service_get_deployment`): `Eyrie::get_deployment` of the testkit's
//! typical tenant as its owner, on `MemoryStore`, `RedbStore` and `SledStore`.
//!
//! `STORE_BENCH_SIZES=1000` limits the per-operation groups to the sizes listed (comma-separated).
//!
//! sled can stall for good (sled issue 1412); a watchdog aborts the run with a message naming the
//! benchmark when no operation completes for two minutes.
//!
//! Run: `cargo bench -p eyrie-benches --bench store`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use eyrie_core::storage::{
    Check, Durability, Entity, Index, Record, RecordKey, Revision, Store, Stored, Transaction, Write, kit::codec,
};
use eyrie_core::{Deployment, GroupId, GroupType, UserId};
use eyrie_store_redb::{RedbConfig, RedbStore};
use eyrie_store_sled::{SledConfig, SledStore};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::builders;
use eyrie_testkit::fixtures::typical_tenant;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use rusqlite::Connection;
use sled::Transactional;
use tokio::runtime::Runtime;

const SIZES: [u64; 2] = [1_000, 100_000];
/// Deployments per group: every list reads this many records.
const GROUP_SIZE: u64 = 50;
/// How long a non-durable commit may stay off the disk.
const FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Ids (and group ids) of deployments created during the benchmarks, far from the preloaded ones.
const CREATED_BASE: u64 = 1 << 40;
/// Records per transaction while loading.
const LOAD_BATCH: usize = 5_000;
/// The watchdog's patience.
const STALL_LIMIT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// Watchdog

static PROGRESS: AtomicU64 = AtomicU64::new(0);
static PHASE: Mutex<String> = Mutex::new(String::new());

fn progress() {
    PROGRESS.fetch_add(1, Ordering::Relaxed);
}

fn phase(name: String) {
    *PHASE.lock().unwrap() = name;
    progress();
}

/// Aborts the process, naming the phase, when no operation completes for [`STALL_LIMIT`].
fn start_watchdog() {
    static START: Once = Once::new();
    START.call_once(|| {
        std::thread::Builder::new()
            .name("store-bench-watchdog".into())
            .spawn(|| {
                let (mut seen, mut since) = (PROGRESS.load(Ordering::Relaxed), Instant::now());
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    let now = PROGRESS.load(Ordering::Relaxed);
                    if now != seen {
                        (seen, since) = (now, Instant::now());
                    } else if since.elapsed() >= STALL_LIMIT {
                        let phase = PHASE.lock().map(|p| p.clone()).unwrap_or_default();
                        eprintln!(
                            "store bench: no operation completed for {} s during `{phase}`: a stalled backend \
                             (for sled, see sled issue 1412). Aborting.",
                            STALL_LIMIT.as_secs()
                        );
                        std::process::abort();
                    }
                }
            })
            .unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// Records

fn deployment(id: u64, group: u64, slug: &str) -> Deployment {
    let project = builders::project(1, UserId(1));
    let group = builders::group(group, &project, GroupType::None, &[]);
    let scope = builders::scope(group.id.0, &group, "dev");
    builders::deployment(id, &group, &scope, slug)
}

/// The `i`-th preloaded deployment: id `1 + i`, in group `1 + i / 50`.
fn preloaded(i: u64) -> Deployment {
    deployment(1 + i, 1 + i / GROUP_SIZE, &format!("d-{i}"))
}

/// The `n`-th deployment created by a benchmark.
fn created(n: u64) -> Record {
    deployment(CREATED_BASE + n, CREATED_BASE + n / GROUP_SIZE, &format!("new-{n}")).into_record()
}

fn as_deployment(record: &Record) -> &Deployment {
    match record {
        Record::Deployment(d) => d,
        _ => unreachable!("the benchmarks store deployments only"),
    }
}

fn entries(record: &Record) -> Vec<Vec<u8>> {
    let key = record.key();
    record.indexes().into_iter().map(|index| index.entry(key)).collect()
}

fn uniques(record: &Record) -> Vec<Vec<u8>> {
    record.unique_keys().iter().map(|u| u.to_bytes()).collect()
}

use eyrie_testkit::conformance::Rng;

// ---------------------------------------------------------------------------------------------
// Backends

/// One backend doing the benchmarked operations, synchronously.
trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// Stores `records` (new), in large transactions.
    fn load(&self, records: &[Record]);
    fn get(&self, key: RecordKey) -> Stored;
    fn list(&self, group: GroupId) -> Vec<Stored>;
    /// Creates one record at revision 1, with its index entries and unique values.
    fn create(&self, record: Record);
    /// Replaces the record at `expected` with `record` at the next revision.
    fn update(&self, record: Record, expected: Revision);
    /// Deletes a record at revision 1 with its index entries and unique values.
    fn delete(&self, record: &Record);
}

/// Flushing of the `Store` backends, after loading.
trait Flush: Store + 'static {
    fn flush_now(&self, rt: &Runtime);
}

impl Flush for RedbStore {
    fn flush_now(&self, rt: &Runtime) {
        rt.block_on(self.flush()).unwrap();
    }
}

impl Flush for SledStore {
    fn flush_now(&self, rt: &Runtime) {
        rt.block_on(self.flush()).unwrap();
    }
}

/// A `Store`, driven through `Store::get`, `Store::list` and `Store::commit`.
struct StoreBackend<S> {
    name: &'static str,
    store: S,
    rt: Arc<Runtime>,
}

impl<S: Flush> Backend for StoreBackend<S> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn load(&self, records: &[Record]) {
        for chunk in records.chunks(LOAD_BATCH) {
            let tx = Transaction { checks: Vec::new(), writes: chunk.iter().cloned().map(Write::Create).collect() };
            self.rt.block_on(self.store.commit(tx)).unwrap();
            progress();
        }
        self.store.flush_now(&self.rt);
    }

    fn get(&self, key: RecordKey) -> Stored {
        self.rt.block_on(self.store.get(key)).unwrap().unwrap()
    }

    fn list(&self, group: GroupId) -> Vec<Stored> {
        self.rt.block_on(self.store.list(Index::GroupDeployments(group))).unwrap()
    }

    fn create(&self, record: Record) {
        let tx = Transaction { checks: Vec::new(), writes: vec![Write::Create(record)] };
        self.rt.block_on(self.store.commit(tx)).unwrap();
    }

    fn update(&self, record: Record, expected: Revision) {
        let tx = Transaction { checks: Vec::new(), writes: vec![Write::Update(record, expected)] };
        self.rt.block_on(self.store.commit(tx)).unwrap();
    }

    fn delete(&self, record: &Record) {
        let tx = Transaction { checks: Vec::new(), writes: vec![Write::Delete(record.key(), Revision::FIRST)] };
        self.rt.block_on(self.store.commit(tx)).unwrap();
    }
}

type Bytes = &'static [u8];
const RECORDS: TableDefinition<'static, Bytes, Bytes> = TableDefinition::new("records");
const INDEX: TableDefinition<'static, Bytes, Bytes> = TableDefinition::new("index");
const UNIQUE: TableDefinition<'static, Bytes, Bytes> = TableDefinition::new("unique");

/// redb with the same three tables, written directly.
struct RawRedb {
    db: redb::Database,
    durable: bool,
    last_durable: Mutex<Instant>,
}

impl RawRedb {
    fn open(path: &Path, durable: bool) -> Self {
        let db = redb::Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        for table in [RECORDS, INDEX, UNIQUE] {
            txn.open_table(table).unwrap();
        }
        txn.commit().unwrap();
        RawRedb { db, durable, last_durable: Mutex::new(Instant::now()) }
    }

    /// Like the store's eventual mode: durable once per [`FLUSH_INTERVAL`].
    fn write(&self) -> redb::WriteTransaction {
        let mut txn = self.db.begin_write().unwrap();
        let durability = {
            let mut last = self.last_durable.lock().unwrap();
            if self.durable || last.elapsed() >= FLUSH_INTERVAL {
                *last = Instant::now();
                redb::Durability::Immediate
            } else {
                redb::Durability::None
            }
        };
        txn.set_durability(durability).unwrap();
        txn
    }
}

impl Backend for RawRedb {
    fn name(&self) -> &'static str {
        "raw redb"
    }

    fn load(&self, records: &[Record]) {
        for chunk in records.chunks(LOAD_BATCH) {
            let mut txn = self.db.begin_write().unwrap();
            txn.set_durability(redb::Durability::Immediate).unwrap();
            {
                let (mut r, mut i, mut u) =
                    (txn.open_table(RECORDS).unwrap(), txn.open_table(INDEX).unwrap(), txn.open_table(UNIQUE).unwrap());
                for record in chunk {
                    let key = record.key().to_bytes();
                    r.insert(&key[..], codec::encode(record, Revision::FIRST).unwrap().as_slice()).unwrap();
                    for entry in entries(record) {
                        i.insert(entry.as_slice(), &[][..]).unwrap();
                    }
                    for unique in uniques(record) {
                        u.insert(unique.as_slice(), &key[..]).unwrap();
                    }
                }
            }
            txn.commit().unwrap();
            progress();
        }
    }

    fn get(&self, key: RecordKey) -> Stored {
        let txn = self.db.begin_read().unwrap();
        let records = txn.open_table(RECORDS).unwrap();
        let value = records.get(&key.to_bytes()[..]).unwrap().unwrap();
        codec::decode(key, value.value()).unwrap()
    }

    fn list(&self, group: GroupId) -> Vec<Stored> {
        let txn = self.db.begin_read().unwrap();
        let (index, records) = (txn.open_table(INDEX).unwrap(), txn.open_table(RECORDS).unwrap());
        let prefix = Index::GroupDeployments(group).prefix();
        let mut out = Vec::new();
        for entry in index.range::<&[u8]>(&prefix[..]..).unwrap() {
            let (entry, _) = entry.unwrap();
            if !entry.value().starts_with(&prefix) {
                break;
            }
            let key = Index::record_of_entry(entry.value()).unwrap();
            let value = records.get(&key.to_bytes()[..]).unwrap().unwrap();
            out.push(codec::decode(key, value.value()).unwrap());
        }
        out
    }

    fn create(&self, record: Record) {
        let key = record.key().to_bytes();
        let bytes = codec::encode(&record, Revision::FIRST).unwrap();
        let (entries, uniques) = (entries(&record), uniques(&record));
        let txn = self.write();
        {
            let mut r = txn.open_table(RECORDS).unwrap();
            assert!(r.get(&key[..]).unwrap().is_none(), "create of an existing record");
            r.insert(&key[..], bytes.as_slice()).unwrap();
            let mut i = txn.open_table(INDEX).unwrap();
            for entry in &entries {
                i.insert(entry.as_slice(), &[][..]).unwrap();
            }
            let mut u = txn.open_table(UNIQUE).unwrap();
            for unique in &uniques {
                assert!(u.get(unique.as_slice()).unwrap().is_none(), "unique value taken");
                u.insert(unique.as_slice(), &key[..]).unwrap();
            }
        }
        txn.commit().unwrap();
    }

    fn update(&self, record: Record, expected: Revision) {
        let key = record.key();
        let bytes = codec::encode(&record, expected.next()).unwrap();
        let txn = self.write();
        {
            let mut r = txn.open_table(RECORDS).unwrap();
            let current = codec::revision_of(key, r.get(&key.to_bytes()[..]).unwrap().unwrap().value()).unwrap();
            assert_eq!(current, expected, "stale revision");
            r.insert(&key.to_bytes()[..], bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }

    fn delete(&self, record: &Record) {
        let txn = self.write();
        {
            txn.open_table(RECORDS).unwrap().remove(&record.key().to_bytes()[..]).unwrap();
            let mut i = txn.open_table(INDEX).unwrap();
            for entry in entries(record) {
                i.remove(entry.as_slice()).unwrap();
            }
            let mut u = txn.open_table(UNIQUE).unwrap();
            for unique in uniques(record) {
                u.remove(unique.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    }
}

/// sled with the same three trees, written directly in multi-tree transactions.
struct RawSled {
    db: sled::Db,
    records: sled::Tree,
    index: sled::Tree,
    unique: sled::Tree,
    durable: bool,
}

type SledResult = sled::transaction::ConflictableTransactionResult<(), ()>;

impl RawSled {
    fn open(path: &Path, durable: bool) -> Self {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(SledConfig::DEFAULT_CACHE_SIZE as u64)
            .flush_every_ms(if durable { None } else { Some(FLUSH_INTERVAL.as_millis() as u64) })
            .open()
            .unwrap();
        let tree = |name: &str| db.open_tree(name).unwrap();
        RawSled { records: tree("records"), index: tree("index"), unique: tree("unique"), db, durable }
    }

    fn done(&self) {
        if self.durable {
            self.db.flush().unwrap();
        }
    }
}

impl Backend for RawSled {
    fn name(&self) -> &'static str {
        "raw sled"
    }

    fn load(&self, records: &[Record]) {
        for chunk in records.chunks(LOAD_BATCH) {
            let (mut r, mut i, mut u) = (sled::Batch::default(), sled::Batch::default(), sled::Batch::default());
            for record in chunk {
                let key = record.key().to_bytes();
                r.insert(&key[..], codec::encode(record, Revision::FIRST).unwrap());
                for entry in entries(record) {
                    i.insert(entry, &[][..]);
                }
                for unique in uniques(record) {
                    u.insert(unique, &key[..]);
                }
            }
            self.records.apply_batch(r).unwrap();
            self.index.apply_batch(i).unwrap();
            self.unique.apply_batch(u).unwrap();
            progress();
        }
        self.db.flush().unwrap();
    }

    fn get(&self, key: RecordKey) -> Stored {
        let value = self.records.get(key.to_bytes()).unwrap().unwrap();
        codec::decode(key, &value).unwrap()
    }

    fn list(&self, group: GroupId) -> Vec<Stored> {
        self.index
            .scan_prefix(Index::GroupDeployments(group).prefix())
            .keys()
            .map(|entry| {
                let key = Index::record_of_entry(&entry.unwrap()).unwrap();
                codec::decode(key, &self.records.get(key.to_bytes()).unwrap().unwrap()).unwrap()
            })
            .collect()
    }

    fn create(&self, record: Record) {
        let key = record.key().to_bytes();
        let bytes = codec::encode(&record, Revision::FIRST).unwrap();
        let (entries, uniques) = (entries(&record), uniques(&record));
        (&self.records, &self.index, &self.unique)
            .transaction(|(r, i, u)| -> SledResult {
                if r.get(key)?.is_some() {
                    return sled::transaction::abort(());
                }
                r.insert(&key[..], bytes.as_slice())?;
                for entry in &entries {
                    i.insert(entry.as_slice(), &[][..])?;
                }
                for unique in &uniques {
                    if u.get(unique)?.is_some() {
                        return sled::transaction::abort(());
                    }
                    u.insert(unique.as_slice(), &key[..])?;
                }
                Ok(())
            })
            .unwrap();
        self.done();
    }

    fn update(&self, record: Record, expected: Revision) {
        let key = record.key();
        let bytes = codec::encode(&record, expected.next()).unwrap();
        self.records
            .transaction(|r| -> SledResult {
                let current = r.get(key.to_bytes())?;
                match current.map(|v| codec::revision_of(key, &v)) {
                    Some(Ok(revision)) if revision == expected => {}
                    _ => return sled::transaction::abort(()),
                }
                r.insert(&key.to_bytes()[..], bytes.as_slice())?;
                Ok(())
            })
            .unwrap();
        self.done();
    }

    fn delete(&self, record: &Record) {
        let key = record.key().to_bytes();
        let (entries, uniques) = (entries(record), uniques(record));
        (&self.records, &self.index, &self.unique)
            .transaction(|(r, i, u)| -> SledResult {
                r.remove(&key[..])?;
                for entry in &entries {
                    i.remove(entry.as_slice())?;
                }
                for unique in &uniques {
                    u.remove(unique.as_slice())?;
                }
                Ok(())
            })
            .unwrap();
        self.done();
    }
}

/// SQLite: one row per deployment holding the same envelope, SQL indexes for the same lists.
struct Sqlite {
    conn: Mutex<Connection>,
}

const SQL_INSERT: &str =
    "INSERT INTO deployments (id, group_id, scope_id, slug, live, revision, body) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)";

impl Sqlite {
    fn open(path: &Path, durable: bool) -> Self {
        let conn = Connection::open(path).unwrap();
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).unwrap();
        assert_eq!(mode, "wal");
        conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" }).unwrap();
        // About sled's page cache (64 MiB).
        conn.pragma_update(None, "cache_size", -65_536).unwrap();
        conn.execute_batch(
            "CREATE TABLE deployments (
                 id INTEGER PRIMARY KEY,
                 group_id INTEGER NOT NULL,
                 scope_id INTEGER NOT NULL,
                 slug TEXT NOT NULL,
                 live INTEGER NOT NULL,
                 revision INTEGER NOT NULL,
                 body BLOB NOT NULL
             );
             CREATE UNIQUE INDEX deployment_slug ON deployments (group_id, slug);
             CREATE INDEX group_deployments ON deployments (group_id, id);
             CREATE INDEX scope_deployments ON deployments (scope_id, id);
             CREATE INDEX scope_live_deployments ON deployments (scope_id, id) WHERE live;",
        )
        .unwrap();
        Sqlite { conn: Mutex::new(conn) }
    }

    fn insert(conn: &Connection, record: &Record) {
        let d = as_deployment(record);
        let body = codec::encode(record, Revision::FIRST).unwrap();
        let mut insert = conn.prepare_cached(SQL_INSERT).unwrap();
        insert
            .execute(rusqlite::params![
                d.id.0 as i64,
                d.group_id.0 as i64,
                d.scope_id.0 as i64,
                d.slug.as_ref(),
                d.state.is_live(),
                body
            ])
            .unwrap();
    }
}

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "SQLite"
    }

    fn load(&self, records: &[Record]) {
        let mut conn = self.conn.lock().unwrap();
        for chunk in records.chunks(LOAD_BATCH) {
            let txn = conn.transaction().unwrap();
            for record in chunk {
                Sqlite::insert(&txn, record);
            }
            txn.commit().unwrap();
            progress();
        }
    }

    fn get(&self, key: RecordKey) -> Stored {
        let conn = self.conn.lock().unwrap();
        let mut select = conn.prepare_cached("SELECT body FROM deployments WHERE id = ?1").unwrap();
        select.query_row([key.id as i64], |row| Ok(codec::decode(key, row.get_ref(0)?.as_blob()?).unwrap())).unwrap()
    }

    fn list(&self, group: GroupId) -> Vec<Stored> {
        let conn = self.conn.lock().unwrap();
        let mut select =
            conn.prepare_cached("SELECT id, body FROM deployments WHERE group_id = ?1 ORDER BY id").unwrap();
        let rows = select
            .query_map([group.0 as i64], |row| {
                let key = RecordKey::new(Deployment::KIND, row.get::<_, i64>(0)? as u64);
                Ok(codec::decode(key, row.get_ref(1)?.as_blob()?).unwrap())
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn create(&self, record: Record) {
        Sqlite::insert(&self.conn.lock().unwrap(), &record);
    }

    fn update(&self, record: Record, expected: Revision) {
        let key = record.key();
        let body = codec::encode(&record, expected.next()).unwrap();
        let conn = self.conn.lock().unwrap();
        let mut update = conn
            .prepare_cached("UPDATE deployments SET body = ?2, revision = ?3 WHERE id = ?1 AND revision = ?4")
            .unwrap();
        let changed = update
            .execute(rusqlite::params![key.id as i64, body, expected.next().0 as i64, expected.0 as i64])
            .unwrap();
        assert_eq!(changed, 1, "stale revision");
    }

    fn delete(&self, record: &Record) {
        let conn = self.conn.lock().unwrap();
        let mut delete = conn.prepare_cached("DELETE FROM deployments WHERE id = ?1").unwrap();
        delete.execute([record.key().id as i64]).unwrap();
    }
}

/// The five backends in their own directory, loaded with `size` deployments.
struct Backends {
    all: Vec<Box<dyn Backend>>,
    // Dropped after the backends.
    _dir: tempfile::TempDir,
}

impl Backends {
    fn open(size: u64, durable: bool, rt: &Arc<Runtime>) -> Backends {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let redb_config = RedbConfig::new(path.join("store.redb"));
        let redb_config = if durable {
            redb_config.durability(eyrie_store_redb::Durability::Immediate)
        } else {
            redb_config.durability(eyrie_store_redb::Durability::Eventual { flush_interval: FLUSH_INTERVAL })
        };
        let sled_config = SledConfig::new(path.join("store.sled")).durability(if durable {
            eyrie_store_sled::Durability::Immediate
        } else {
            eyrie_store_sled::Durability::Eventual { flush_interval: FLUSH_INTERVAL }
        });
        let all: Vec<Box<dyn Backend>> = vec![
            Box::new(StoreBackend {
                name: "RedbStore",
                store: RedbStore::open_blocking(redb_config).unwrap(),
                rt: rt.clone(),
            }),
            Box::new(RawRedb::open(&path.join("raw.redb"), durable)),
            Box::new(StoreBackend {
                name: "SledStore",
                store: SledStore::open_blocking(sled_config).unwrap(),
                rt: rt.clone(),
            }),
            Box::new(RawSled::open(&path.join("raw.sled"), durable)),
            Box::new(Sqlite::open(&path.join("sqlite.db"), durable)),
        ];
        let records: Vec<Record> = (0..size).map(|i| preloaded(i).into_record()).collect();
        for backend in &all {
            phase(format!("loading {size} deployments into {}", backend.name()));
            let start = Instant::now();
            backend.load(&records);
            // Not timed assertions: each backend must hold what the others hold.
            let first = RecordKey::new(Deployment::KIND, 1);
            assert_eq!(backend.get(first).record, records[0]);
            let listed = backend.list(GroupId(1));
            assert_eq!(listed.len() as u64, GROUP_SIZE.min(size));
            assert!(listed.iter().zip(&records).all(|(s, r)| s.record == *r && s.revision == Revision::FIRST));
            eprintln!("loaded {size} deployments into {} in {:.1?}", backend.name(), start.elapsed());
        }
        Backends { all, _dir: dir }
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
}

fn bench_get(c: &mut Criterion, backends: &Backends, size: u64) {
    let mut group = c.benchmark_group(format!("get_{size}"));
    configure(&mut group);
    for backend in &backends.all {
        phase(format!("get_{size}/{}", backend.name()));
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        group.bench_function(backend.name(), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let key = RecordKey::new(Deployment::KIND, 1 + rng.below(size));
                    black_box(backend.get(key));
                    progress();
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

fn bench_create(c: &mut Criterion, backends: &Backends, size: u64) {
    let mut group = c.benchmark_group(format!("create_{size}"));
    configure(&mut group);
    for backend in &backends.all {
        phase(format!("create_{size}/{}", backend.name()));
        let mut n = 0;
        group.bench_function(backend.name(), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let record = created(n);
                    n += 1;
                    let copy = record.clone();
                    let start = Instant::now();
                    backend.create(record);
                    timed += start.elapsed();
                    // Untimed: the store keeps its size.
                    backend.delete(&copy);
                    progress();
                }
                timed
            })
        });
    }
    group.finish();
}

fn bench_list(c: &mut Criterion, backends: &Backends, size: u64) {
    let mut group = c.benchmark_group(format!("list_group_{size}"));
    configure(&mut group);
    for backend in &backends.all {
        phase(format!("list_group_{size}/{}", backend.name()));
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        group.bench_function(backend.name(), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(backend.list(GroupId(1 + rng.below(size / GROUP_SIZE))));
                    progress();
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

fn bench_update(c: &mut Criterion, backends: &Backends, size: u64) {
    let mut group = c.benchmark_group(format!("update_{size}"));
    configure(&mut group);
    for backend in &backends.all {
        phase(format!("update_{size}/{}", backend.name()));
        let mut rng = Rng::new(0x1234_5678_9abc_def1);
        let mut revisions: HashMap<u64, Revision> = HashMap::new();
        let mut version = 0u64;
        group.bench_function(backend.name(), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let mut d = preloaded(rng.below(size));
                    version += 1;
                    d.name = format!("renamed {version}").parse().unwrap();
                    let revision = revisions.entry(d.id.0).or_insert(Revision::FIRST);
                    let record = d.into_record();
                    let start = Instant::now();
                    backend.update(record, *revision);
                    timed += start.elapsed();
                    *revision = revision.next();
                    progress();
                }
                timed
            })
        });
    }
    group.finish();
}

/// The sizes to run: [`SIZES`], or those of `STORE_BENCH_SIZES`.
fn sizes() -> Vec<u64> {
    match std::env::var("STORE_BENCH_SIZES") {
        Ok(list) => list.split(',').map(|s| s.trim().parse().expect("STORE_BENCH_SIZES: numbers")).collect(),
        Err(_) => SIZES.to_vec(),
    }
}

fn per_operation(c: &mut Criterion) {
    start_watchdog();
    let rt = Arc::new(tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap());
    for size in sizes() {
        let backends = Backends::open(size, false, &rt);
        bench_get(c, &backends, size);
        bench_create(c, &backends, size);
        bench_list(c, &backends, size);
        bench_update(c, &backends, size);
        phase(format!("closing the stores of {size}"));
    }
}

/// `iters` durable creates from `writers` threads; the wall time of them all.
fn run_writers(backend: &dyn Backend, writers: usize, iters: u64, next: &AtomicU64) -> Duration {
    let taken = AtomicU64::new(0);
    let work = || {
        while taken.fetch_add(1, Ordering::Relaxed) < iters {
            backend.create(created(next.fetch_add(1, Ordering::Relaxed)));
            progress();
        }
    };
    let start = Instant::now();
    if writers == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..writers {
                s.spawn(work);
            }
        });
    }
    start.elapsed()
}

fn durable_commits(c: &mut Criterion) {
    start_watchdog();
    let rt = Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap());
    let backends = Backends::open(1_000, true, &rt);
    for writers in [1usize, 16] {
        let mut group = c.benchmark_group(format!("durable_commit_{writers}w"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(1));
        for backend in &backends.all {
            phase(format!("durable_commit_{writers}w/{}", backend.name()));
            // Ids unique across both writer counts.
            let next = AtomicU64::new(writers as u64 * 10_000_000);
            group.bench_function(backend.name(), |b| {
                b.iter_custom(|iters| run_writers(backend.as_ref(), writers, iters, &next))
            });
        }
        group.finish();
    }
    phase("closing the durable stores".into());
}

/// Live deployments in the full scope of `create_in_scope`.
const FULL_SCOPE: u64 = 10_000;
/// The group (and scope) ids of `create_in_scope`.
const FULL_GROUP: u64 = 1 << 41;
const EMPTY_GROUP: u64 = FULL_GROUP + 1;

/// A create into the scope of `group` with the service's `CountBelow` check on its live deployments.
fn scope_create(n: u64, group: u64) -> Transaction {
    let d = deployment(CREATED_BASE + (1 << 30) + n, group, &format!("s-{n}"));
    let check = Check::CountBelow {
        index: Index::ScopeLiveDeployments(d.scope_id),
        limit: 1_000_000,
        message: "scope full".into(),
    };
    Transaction::new().check(check).create(d)
}

fn create_in_scope(c: &mut Criterion) {
    start_watchdog();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<(&str, Arc<dyn Store>)> = vec![
        (
            "RedbStore",
            Arc::new(
                RedbStore::open_blocking(
                    RedbConfig::new(dir.path().join("scope.redb"))
                        .durability(Durability::Eventual { flush_interval: FLUSH_INTERVAL }),
                )
                .unwrap(),
            ),
        ),
        (
            "SledStore",
            Arc::new(
                SledStore::open_blocking(
                    SledConfig::new(dir.path().join("scope.sled"))
                        .durability(Durability::Eventual { flush_interval: FLUSH_INTERVAL }),
                )
                .unwrap(),
            ),
        ),
        ("MemoryStore", Arc::new(MemoryStore::new())),
    ];
    let mut group = c.benchmark_group("create_in_scope");
    configure(&mut group);
    for (name, store) in &stores {
        phase(format!("loading a scope of {FULL_SCOPE} into {name}"));
        for chunk in (0..FULL_SCOPE).collect::<Vec<_>>().chunks(LOAD_BATCH) {
            let writes = chunk
                .iter()
                .map(|&i| Write::Create(deployment(FULL_GROUP * 2 + i, FULL_GROUP, &format!("f-{i}")).into_record()));
            rt.block_on(store.commit(Transaction { checks: Vec::new(), writes: writes.collect() })).unwrap();
        }
        let full = Index::ScopeLiveDeployments(deployment(1, FULL_GROUP, "x").scope_id);
        assert_eq!(rt.block_on(store.count(full)).unwrap(), FULL_SCOPE);
        for (label, scope_group) in [("empty", EMPTY_GROUP), ("10000", FULL_GROUP)] {
            phase(format!("create_in_scope/{name}/{label}"));
            let mut n = 0;
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let tx = scope_create(n, scope_group);
                        n += 1;
                        let key = tx.writes[0].key();
                        let start = Instant::now();
                        rt.block_on(store.commit(tx)).unwrap();
                        timed += start.elapsed();
                        // Untimed: the scope keeps its size.
                        let delete =
                            Transaction { checks: Vec::new(), writes: vec![Write::Delete(key, Revision::FIRST)] };
                        rt.block_on(store.commit(delete)).unwrap();
                        progress();
                    }
                    timed
                })
            });
        }
    }
    group.finish();
    phase("closing the scope stores".into());
}

fn service_get_deployment(c: &mut Criterion) {
    start_watchdog();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<(&str, Arc<dyn Store>)> = vec![
        ("MemoryStore", Arc::new(MemoryStore::new())),
        ("RedbStore", Arc::new(RedbStore::open_blocking(RedbConfig::new(dir.path().join("svc.redb"))).unwrap())),
        ("SledStore", Arc::new(SledStore::open_blocking(SledConfig::new(dir.path().join("svc.sled"))).unwrap())),
    ];
    let mut group = c.benchmark_group("service_get_deployment");
    configure(&mut group);
    for (name, store) in stores {
        phase(format!("service_get_deployment/{name}"));
        let tenant = rt.block_on(typical_tenant(store)).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(rt.block_on(tenant.eyrie.get_deployment(tenant.owner, tenant.shop.id)).unwrap());
                progress();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, per_operation, create_in_scope, service_get_deployment, durable_commits);
criterion_main!(benches);
