//! The statements: reads of the three key spaces and the batched write of
//! a commit's changes, over any connection or transaction.
//!
//! Keys are `bytea`, which PostgreSQL orders byte by byte like the engine's
//! key spaces, so a prefix is a range on the primary key. Statements are
//! prepared once per connection (deadpool's statement cache).

use deadpool_postgres::GenericClient;
use eyrie_core::storage::RecordKey;
use eyrie_core::storage::kit::codec;
use eyrie_core::storage::kit::kv::{Change, Pairs, Table};
use eyrie_core::{Error, Result};
use futures::future::{BoxFuture, FutureExt, join_all};
use tokio_postgres::types::ToSql;

use crate::error::from_pg;

/// A table's name and the columns holding a key space's key and value.
struct Columns {
    table: &'static str,
    key: &'static str,
    /// The value column.
    value: &'static str,
}

fn columns(table: Table) -> Columns {
    match table {
        Table::Records => Columns { table: "records", key: "key", value: "envelope" },
        Table::Index => Columns { table: "index_entries", key: "entry", value: "value" },
        Table::Unique => Columns { table: "unique_values", key: "value", value: "owner" },
    }
}

/// Where a scan starts and stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Range {
    /// Every key starting with the prefix.
    Prefix(Vec<u8>),
    /// `start <= key <= end`.
    Between(Vec<u8>, Vec<u8>),
}

/// The smallest key greater than every key starting with `prefix`, or
/// `None` when there is none (an empty prefix, or only `0xff` bytes).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|b| *b != 0xff)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

/// The `WHERE` clause and its parameters for `range`.
fn bounds(key: &str, range: &Range) -> (String, Vec<Vec<u8>>) {
    match range {
        Range::Prefix(prefix) => match prefix_end(prefix) {
            Some(end) => (format!("{key} >= $1 AND {key} < $2"), vec![prefix.clone(), end]),
            None => (format!("{key} >= $1"), vec![prefix.clone()]),
        },
        Range::Between(start, end) => (format!("{key} >= $1 AND {key} <= $2"), vec![start.clone(), end.clone()]),
    }
}

fn params(values: &[Vec<u8>]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// The value under `key`.
pub(crate) async fn get(c: &impl GenericClient, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let Columns { table: name, key: k, value } = columns(table);
    let failed = |e| from_pg(&format!("reading {name}"), &e);
    let statement = c.prepare_cached(&format!("SELECT {value} FROM {name} WHERE {k} = $1")).await.map_err(failed)?;
    let row = c.query_opt(&statement, &[&key]).await.map_err(failed)?;
    row.map(|row| row.try_get::<_, Vec<u8>>(0)).transpose().map_err(failed)
}

/// The pairs under `keys` that exist (in no particular order).
pub(crate) async fn get_many(c: &impl GenericClient, table: Table, keys: &[Vec<u8>]) -> Result<Pairs> {
    let Columns { table: name, key, value } = columns(table);
    let failed = |e| from_pg(&format!("reading {name}"), &e);
    let sql = format!("SELECT {key}, {value} FROM {name} WHERE {key} = ANY($1::bytea[])");
    let statement = c.prepare_cached(&sql).await.map_err(failed)?;
    let rows = c.query(&statement, &[&keys]).await.map_err(failed)?;
    rows.iter().map(|row| Ok((row.try_get(0).map_err(failed)?, row.try_get(1).map_err(failed)?))).collect()
}

/// Every pair in `range`, in key order.
pub(crate) async fn scan(c: &impl GenericClient, table: Table, range: &Range) -> Result<Pairs> {
    let Columns { table: name, key, value } = columns(table);
    let failed = |e| from_pg(&format!("scanning {name}"), &e);
    let (clause, values) = bounds(key, range);
    let sql = format!("SELECT {key}, {value} FROM {name} WHERE {clause} ORDER BY {key}");
    let statement = c.prepare_cached(&sql).await.map_err(failed)?;
    let rows = c.query(&statement, &params(&values)).await.map_err(failed)?;
    rows.iter().map(|row| Ok((row.try_get(0).map_err(failed)?, row.try_get(1).map_err(failed)?))).collect()
}

/// How many keys are in `range`.
pub(crate) async fn count(c: &impl GenericClient, table: Table, range: &Range) -> Result<u64> {
    let Columns { table: name, key, .. } = columns(table);
    let failed = |e| from_pg(&format!("counting {name}"), &e);
    let (clause, values) = bounds(key, range);
    let statement = c.prepare_cached(&format!("SELECT count(*) FROM {name} WHERE {clause}")).await.map_err(failed)?;
    let row = c.query_one(&statement, &params(&values)).await.map_err(failed)?;
    let n: i64 = row.try_get(0).map_err(failed)?;
    Ok(n.max(0) as u64)
}

/// A record row: its envelope and the columns derived from it for SQL
/// queries.
struct RecordRow {
    key: Vec<u8>,
    kind: String,
    id: String,
    revision: i64,
    format: i16,
    body: String,
    envelope: Vec<u8>,
}

impl RecordRow {
    fn new(key: Vec<u8>, envelope: Vec<u8>) -> Result<Self> {
        let record = RecordKey::from_bytes(&key)?;
        let revision = codec::revision_of(record, &envelope)?;
        let corrupt = |reason: &str| Error::Corrupt { record: record.to_string(), reason: reason.to_owned() };
        let body = envelope.get(codec::HEADER_LEN..).ok_or_else(|| corrupt("truncated envelope"))?;
        let body = std::str::from_utf8(body).map_err(|_| corrupt("the record's JSON is not UTF-8"))?.to_owned();
        Ok(RecordRow {
            kind: record.kind.name().to_owned(),
            id: record.id.to_string(),
            revision: i64::try_from(revision.0).map_err(|_| corrupt("revision out of range"))?,
            format: i16::from(envelope[0]),
            body,
            key,
            envelope,
        })
    }
}

/// The changes of one commit, grouped into at most six statements.
#[derive(Default)]
struct Batch {
    records: Vec<RecordRow>,
    deletes: [Vec<Vec<u8>>; 3],
    index: (Vec<Vec<u8>>, Vec<Vec<u8>>),
    unique: (Vec<Vec<u8>>, Vec<Vec<u8>>),
}

fn batch(changes: Vec<Change>) -> Result<Batch> {
    let mut batch = Batch::default();
    for (table, key, value) in changes {
        match (table, value) {
            (_, None) => batch.deletes[table as usize].push(key),
            (Table::Records, Some(envelope)) => batch.records.push(RecordRow::new(key, envelope)?),
            (Table::Index, Some(value)) => {
                batch.index.0.push(key);
                batch.index.1.push(value);
            }
            (Table::Unique, Some(owner)) => {
                batch.unique.0.push(key);
                batch.unique.1.push(owner);
            }
        }
    }
    Ok(batch)
}

const UPSERT_RECORDS: &str = "INSERT INTO records (key, kind, id, revision, format, body, envelope)
    SELECT key, kind, id::numeric, revision, format, body::jsonb, envelope
    FROM unnest($1::bytea[], $2::text[], $3::text[], $4::int8[], $5::int2[], $6::text[], $7::bytea[])
        AS t(key, kind, id, revision, format, body, envelope)
    ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, id = excluded.id, revision = excluded.revision,
        format = excluded.format, body = excluded.body, envelope = excluded.envelope";
const UPSERT_INDEX: &str = "INSERT INTO index_entries (entry, value) SELECT * FROM unnest($1::bytea[], $2::bytea[])
    ON CONFLICT (entry) DO UPDATE SET value = excluded.value";
const UPSERT_UNIQUE: &str = "INSERT INTO unique_values (value, owner) SELECT * FROM unnest($1::bytea[], $2::bytea[])
    ON CONFLICT (value) DO UPDATE SET owner = excluded.owner";

/// Runs one statement of the batch.
async fn run(c: &impl GenericClient, sql: String, params: &[&(dyn ToSql + Sync)]) -> Result<()> {
    let failed = |e| from_pg("writing a commit", &e);
    let statement = c.prepare_cached(&sql).await.map_err(failed)?;
    c.execute(&statement, params).await.map_err(failed).map(drop)
}

/// Writes `changes` (final values, one per key, as
/// [`eyrie_core::storage::kit::kv::Overlay`] hands them over) in at most six
/// statements, sent together (pipelined) on `c`.
pub(crate) async fn write(c: &impl GenericClient, changes: Vec<Change>) -> Result<()> {
    let batch = batch(changes)?;
    let rows = &batch.records;
    let keys: Vec<&[u8]> = rows.iter().map(|r| r.key.as_slice()).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let revisions: Vec<i64> = rows.iter().map(|r| r.revision).collect();
    let formats: Vec<i16> = rows.iter().map(|r| r.format).collect();
    let bodies: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
    let envelopes: Vec<&[u8]> = rows.iter().map(|r| r.envelope.as_slice()).collect();

    let mut statements: Vec<BoxFuture<'_, Result<()>>> = Vec::new();
    for table in Table::ALL {
        let gone = &batch.deletes[table as usize];
        if !gone.is_empty() {
            let Columns { table: name, key, .. } = columns(table);
            let sql = format!("DELETE FROM {name} WHERE {key} = ANY($1::bytea[])");
            statements.push(async move { run(c, sql, &[gone]).await }.boxed());
        }
    }
    if !rows.is_empty() {
        let params: [&(dyn ToSql + Sync); 7] = [&keys, &kinds, &ids, &revisions, &formats, &bodies, &envelopes];
        statements.push(async move { run(c, UPSERT_RECORDS.to_owned(), &params).await }.boxed());
    }
    if !batch.index.0.is_empty() {
        statements.push(async { run(c, UPSERT_INDEX.to_owned(), &[&batch.index.0, &batch.index.1]).await }.boxed());
    }
    if !batch.unique.0.is_empty() {
        statements.push(async { run(c, UPSERT_UNIQUE.to_owned(), &[&batch.unique.0, &batch.unique.1]).await }.boxed());
    }
    // Pipelined: when one statement fails, the ones after it fail with
    // "current transaction is aborted"; the first failure is the cause.
    let results = join_all(statements).await;
    first_cause(results.into_iter().filter_map(std::result::Result::err).collect())
}

/// The error to report for a pipelined batch: a lost race first (the
/// commit may be re-run), else the first failure that is not a consequence
/// of another.
fn first_cause(failures: Vec<Error>) -> Result<()> {
    let cause = failures
        .iter()
        .find(|e| e.kind() == eyrie_core::ErrorKind::Conflict)
        .or_else(|| failures.iter().find(|e| !e.to_string().contains(IN_FAILED_TRANSACTION)))
        .or(failures.first());
    cause.map_or(Ok(()), |e| Err(e.clone()))
}

/// SQLSTATE of a statement sent after another failed in the same transaction.
const IN_FAILED_TRANSACTION: &str = "25P02";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_are_the_next_key_past_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
        let (clause, values) = bounds("k", &Range::Prefix(vec![]));
        assert_eq!((clause.as_str(), values.len()), ("k >= $1", 1), "the empty prefix scans everything");
    }

    #[test]
    fn a_pipelined_batch_reports_the_cause_not_its_consequences() {
        let aborted = || Error::backend(format!("writing a commit: ERROR {IN_FAILED_TRANSACTION}: aborted"), false);
        let unique = Error::backend("writing a commit: ERROR 23505: duplicate key", false);
        let race = Error::Conflict("lost a serialization race".into());
        assert_eq!(first_cause(vec![]), Ok(()));
        assert_eq!(first_cause(vec![aborted(), race.clone(), aborted()]), Err(race));
        assert_eq!(first_cause(vec![aborted(), unique.clone()]), Err(unique));
        assert_eq!(first_cause(vec![aborted()]), Err(aborted()), "never Ok while something failed");
    }

    #[test]
    fn a_batch_groups_changes_by_statement_and_refuses_bad_envelopes() {
        let changes: Vec<Change> = vec![
            (Table::Index, b"i1".to_vec(), Some(Vec::new())),
            (Table::Index, b"i2".to_vec(), None),
            (Table::Unique, b"u1".to_vec(), Some(b"owner".to_vec())),
            (Table::Records, vec![1, 0, 0, 0, 0, 0, 0, 0, 9], None),
        ];
        let b = batch(changes).unwrap();
        assert_eq!((b.index.0.len(), b.unique.0.len(), b.records.len()), (1, 1, 0));
        assert_eq!(b.deletes.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 0]);
        let counter = batch(vec![(Table::Index, vec![0, 1], Some(7u64.to_be_bytes().to_vec()))]).unwrap();
        assert_eq!(counter.index.1, vec![7u64.to_be_bytes().to_vec()], "a list counter keeps its value");
        let bad = batch(vec![(Table::Records, vec![1, 0, 0, 0, 0, 0, 0, 0, 9], Some(vec![1, 0]))]);
        assert_eq!(bad.err().map(|e| e.kind()), Some(eyrie_core::ErrorKind::Corrupt), "a truncated envelope");
    }
}
