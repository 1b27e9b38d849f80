//! `PostgresStore` beside `RedbStore` and SQLite in the same criterion run:
//! `get`, `create`, `list` of a group of 50, and durable commits from 1 and
//! 16 writers, each store preloaded with 1,000 deployments (groups of 50).
//!
//! `PostgresStore` runs twice, in two schemas: with its default serial
//! commits and with `serial_commits(false)` (concurrent first attempts).
//!
//! Every commit is durable before it returns, in every group: `RedbStore`
//! with `Durability::Immediate`, SQLite in WAL mode with `synchronous=FULL`
//! (one connection behind a mutex), PostgreSQL with the server's defaults
//! (`fsync`, `synchronous_commit = on`) over loopback TCP. The stores keep
//! the same bytes (the `codec::encode` envelope); SQLite holds one row per
//! deployment with SQL indexes for the same lists, as in `store.rs`. A
//! create is timed alone and then deleted, untimed, so the size stays put.
//!
//! Needs a PostgreSQL server: `EYRIE_POSTGRES_URL` (`.ci/postgres-server`
//! starts one). Without it the bench says so and measures nothing.
//!
//! Run: `EYRIE_POSTGRES_URL=… cargo bench -p eyrie-benches --bench postgres`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eyrie_core::storage::{Entity, Index, Record, RecordKey, Revision, Store, Stored, Transaction, Write, kit::codec};
use eyrie_core::{Deployment, GroupId, GroupType, UserId};
use eyrie_store_postgres::{PostgresConfig, PostgresStore};
use eyrie_store_redb::{Durability, RedbConfig, RedbStore};
use eyrie_testkit::builders;
use rusqlite::Connection;
use tokio::runtime::Runtime;

const SIZE: u64 = 1_000;
const GROUP_SIZE: u64 = 50;
const CREATED_BASE: u64 = 1 << 40;
const URL_VAR: &str = "EYRIE_POSTGRES_URL";

fn deployment(id: u64, group: u64, slug: &str) -> Deployment {
    let project = builders::project(1, UserId(1));
    let group = builders::group(group, &project, GroupType::None, &[]);
    let scope = builders::scope(group.id.0, &group, "dev");
    builders::deployment(id, &group, &scope, slug)
}

fn preloaded(i: u64) -> Record {
    deployment(1 + i, 1 + i / GROUP_SIZE, &format!("d-{i}")).into_record()
}

fn created(n: u64) -> Record {
    deployment(CREATED_BASE + n, CREATED_BASE + n / GROUP_SIZE, &format!("new-{n}")).into_record()
}

use eyrie_testkit::conformance::Rng;

/// The benchmarked operations, synchronously.
trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    fn load(&self, records: &[Record]);
    fn get(&self, key: RecordKey) -> Stored;
    fn list(&self, group: GroupId) -> Vec<Stored>;
    fn create(&self, record: Record);
    fn delete(&self, record: &Record);
}

/// A `Store` driven through `get`, `list` and `commit`.
struct StoreBackend<S> {
    name: &'static str,
    store: S,
    rt: Arc<Runtime>,
}

impl<S: Store> Backend for StoreBackend<S> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn load(&self, records: &[Record]) {
        let tx = Transaction { checks: Vec::new(), writes: records.iter().cloned().map(Write::Create).collect() };
        self.rt.block_on(self.store.commit(tx)).unwrap();
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

    fn delete(&self, record: &Record) {
        let tx = Transaction { checks: Vec::new(), writes: vec![Write::Delete(record.key(), Revision::FIRST)] };
        self.rt.block_on(self.store.commit(tx)).unwrap();
    }
}

/// SQLite, durable: one row per deployment holding the same envelope.
struct Sqlite(Mutex<Connection>);

impl Sqlite {
    fn open(path: &Path) -> Self {
        let conn = Connection::open(path).unwrap();
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).unwrap();
        assert_eq!(mode, "wal");
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.execute_batch(
            "CREATE TABLE deployments (id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL, slug TEXT NOT NULL,
                 revision INTEGER NOT NULL, body BLOB NOT NULL);
             CREATE UNIQUE INDEX deployment_slug ON deployments (group_id, slug);
             CREATE INDEX group_deployments ON deployments (group_id, id);",
        )
        .unwrap();
        Sqlite(Mutex::new(conn))
    }

    fn insert(conn: &Connection, record: &Record) {
        let Record::Deployment(d) = record else { unreachable!("deployments only") };
        let body = codec::encode(record, Revision::FIRST).unwrap();
        let mut insert = conn
            .prepare_cached("INSERT INTO deployments (id, group_id, slug, revision, body) VALUES (?1, ?2, ?3, 1, ?4)")
            .unwrap();
        insert.execute(rusqlite::params![d.id.0 as i64, d.group_id.0 as i64, d.slug.as_ref(), body]).unwrap();
    }
}

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "SQLite"
    }

    fn load(&self, records: &[Record]) {
        let mut conn = self.0.lock().unwrap();
        let txn = conn.transaction().unwrap();
        for record in records {
            Sqlite::insert(&txn, record);
        }
        txn.commit().unwrap();
    }

    fn get(&self, key: RecordKey) -> Stored {
        let conn = self.0.lock().unwrap();
        let mut select = conn.prepare_cached("SELECT body FROM deployments WHERE id = ?1").unwrap();
        select.query_row([key.id as i64], |row| Ok(codec::decode(key, row.get_ref(0)?.as_blob()?).unwrap())).unwrap()
    }

    fn list(&self, group: GroupId) -> Vec<Stored> {
        let conn = self.0.lock().unwrap();
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
        Sqlite::insert(&self.0.lock().unwrap(), &record);
    }

    fn delete(&self, record: &Record) {
        let conn = self.0.lock().unwrap();
        conn.prepare_cached("DELETE FROM deployments WHERE id = ?1")
            .unwrap()
            .execute([record.key().id as i64])
            .unwrap();
    }
}

/// The three backends, loaded; the PostgreSQL schema is dropped with them.
struct Backends {
    all: Vec<Box<dyn Backend>>,
    url: String,
    schema: String,
    rt: Arc<Runtime>,
    _dir: tempfile::TempDir,
}

impl Backends {
    fn open(url: String, rt: &Arc<Runtime>) -> Backends {
        let dir = tempfile::tempdir().unwrap();
        let schema = format!("eyrie_bench_{}", std::process::id());
        let config = PostgresConfig::new(&url).unwrap().schema(&schema).unwrap();
        let concurrent =
            PostgresConfig::new(&url).unwrap().schema(&format!("{schema}_concurrent")).unwrap().serial_commits(false);
        let redb = RedbConfig::new(dir.path().join("store.redb")).durability(Durability::Immediate);
        let all: Vec<Box<dyn Backend>> = vec![
            Box::new(StoreBackend {
                name: "PostgresStore",
                store: rt.block_on(PostgresStore::open(config)).unwrap(),
                rt: rt.clone(),
            }),
            Box::new(StoreBackend {
                name: "PostgresStore concurrent",
                store: rt.block_on(PostgresStore::open(concurrent)).unwrap(),
                rt: rt.clone(),
            }),
            Box::new(StoreBackend {
                name: "RedbStore",
                store: RedbStore::open_blocking(redb).unwrap(),
                rt: rt.clone(),
            }),
            Box::new(Sqlite::open(&dir.path().join("sqlite.db"))),
        ];
        let records: Vec<Record> = (0..SIZE).map(preloaded).collect();
        for backend in &all {
            backend.load(&records);
            // Not a timed assertion: each backend holds what the others hold.
            assert_eq!(backend.get(RecordKey::new(Deployment::KIND, 1)).record, records[0]);
            assert_eq!(backend.list(GroupId(1)).len() as u64, GROUP_SIZE);
        }
        Backends { all, url, schema, rt: rt.clone(), _dir: dir }
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        self.all.clear();
        let (url, schema) = (self.url.clone(), self.schema.clone());
        self.rt.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            let drop = format!(
                "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; DROP SCHEMA IF EXISTS \"{schema}_concurrent\" CASCADE"
            );
            client.batch_execute(&drop).await.unwrap();
        });
    }
}

/// `iters` creates from `writers` threads; the wall time of them all.
fn run_writers(backend: &dyn Backend, writers: usize, iters: u64, next: &AtomicU64) -> Duration {
    let taken = AtomicU64::new(0);
    let work = || {
        while taken.fetch_add(1, Ordering::Relaxed) < iters {
            backend.create(created(next.fetch_add(1, Ordering::Relaxed)));
        }
    };
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..writers {
            s.spawn(work);
        }
    });
    start.elapsed()
}

fn postgres_beside_redb_and_sqlite(c: &mut Criterion) {
    let Ok(url) = std::env::var(URL_VAR) else {
        eprintln!("postgres bench: {URL_VAR} is not set; nothing measured (see benches/README.md)");
        return;
    };
    let rt = Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap());
    let backends = Backends::open(url, &rt);
    let configure = |group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>| {
        group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    };

    let mut group = c.benchmark_group("pg_get");
    configure(&mut group);
    for backend in &backends.all {
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        group.bench_function(backend.name(), |b| {
            b.iter(|| black_box(backend.get(RecordKey::new(Deployment::KIND, 1 + rng.below(SIZE)))))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("pg_create");
    configure(&mut group);
    for backend in &backends.all {
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
                    backend.delete(&copy);
                }
                timed
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("pg_list_group");
    configure(&mut group);
    for backend in &backends.all {
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        group.bench_function(backend.name(), |b| {
            b.iter(|| black_box(backend.list(GroupId(1 + rng.below(SIZE / GROUP_SIZE)))))
        });
    }
    group.finish();

    for writers in [1usize, 16] {
        let mut group = c.benchmark_group(format!("pg_durable_commit_{writers}w"));
        configure(&mut group);
        group.throughput(Throughput::Elements(1));
        for backend in &backends.all {
            let next = AtomicU64::new(1_000_000 + writers as u64 * 10_000_000);
            group.bench_function(backend.name(), |b| {
                b.iter_custom(|iters| run_writers(backend.as_ref(), writers, iters, &next))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, postgres_beside_redb_and_sqlite);
criterion_main!(benches);
