//! The shared engine of every store: the three key spaces as an abstract
//! key-value view ([`KvRead`], [`KvWrite`]), the transaction logic over it
//! ([`apply`]), the read paths ([`get`], [`list`], …), a write [`Overlay`]
//! for backends without read-your-writes transactions, and an integrity
//! check that rebuilds every index from the records ([`verify`]).
//!
//! A backend only moves bytes; what a transaction means is decided here, once.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::storage::codec;
use crate::storage::counts;
use crate::storage::keys::{EntityKind, Index, RecordKey, UniqueKey, hex};
use crate::storage::record::Record;
use crate::storage::tx::{Check, Receipt, Revision, Stored, Transaction, Write};

/// The three key spaces (tables in redb, trees in sled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Record key → envelope.
    Records,
    /// Index entry → empty.
    Index,
    /// Unique key → owning record key.
    Unique,
}

impl Table {
    /// All three.
    pub const ALL: [Table; 3] = [Table::Records, Table::Index, Table::Unique];

    /// The table's stored name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Records => "records",
            Table::Index => "index",
            Table::Unique => "unique",
        }
    }
}

/// Key-value pairs, in key order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Reads of a consistent snapshot.
pub trait KvRead {
    /// The value under `key`.
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Every pair whose key starts with `prefix`, in key order.
    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs>;
    /// Every pair with `start <= key <= end`, in key order. The default
    /// scans the common prefix of both bounds and filters; backends with
    /// ordered range reads should override it.
    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        let common = start.iter().zip(end).take_while(|(a, b)| a == b).count();
        Ok(self
            .scan_prefix(table, &start[..common])?
            .into_iter()
            .filter(|(k, _)| k.as_slice() >= start && k.as_slice() <= end)
            .collect())
    }

    /// How many keys start with `prefix`.
    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        Ok(self.scan_prefix(table, prefix)?.len() as u64)
    }
}

/// Writes inside one atomic transaction that sees its own writes.
pub trait KvWrite: KvRead {
    /// Sets `key` to `value`.
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()>;
    /// Removes `key`.
    fn delete(&mut self, table: Table, key: &[u8]) -> Result<()>;
}

/// Reads one record.
pub fn get(kv: &mut (impl KvRead + ?Sized), key: RecordKey) -> Result<Option<Stored>> {
    kv.get(Table::Records, &key.to_bytes())?.map(|bytes| codec::decode(key, &bytes)).transpose()
}

/// Reads the records of a list, in id order.
pub fn list(kv: &mut (impl KvRead + ?Sized), index: Index) -> Result<Vec<Stored>> {
    let entries = kv.scan_prefix(Table::Index, &index.prefix())?;
    let mut out = Vec::with_capacity(entries.len());
    for (entry, _) in entries {
        let key = Index::record_of_entry(&entry)?;
        match get(kv, key)? {
            Some(stored) => out.push(stored),
            None => {
                return Err(Error::Corrupt {
                    record: key.to_string(),
                    reason: format!("listed in {index:?} but missing"),
                });
            }
        }
    }
    Ok(out)
}

/// Reads the records of every list from `from` to `to` (same index kind,
/// parents in between, inclusive), ordered by parent then id: for time
/// indexes, everything due up to an instant.
pub fn list_between(kv: &mut (impl KvRead + ?Sized), from: Index, to: Index) -> Result<Vec<Stored>> {
    let start = from.prefix().to_vec();
    let mut end = to.prefix().to_vec();
    end.extend_from_slice(&[0xff; RecordKey::LEN]);
    let entries = kv.scan_range(Table::Index, &start, &end)?;
    let mut out = Vec::with_capacity(entries.len());
    for (entry, _) in entries {
        let key = Index::record_of_entry(&entry)?;
        match get(kv, key)? {
            Some(stored) => out.push(stored),
            None => return Err(Error::Corrupt { record: key.to_string(), reason: "indexed but missing".into() }),
        }
    }
    Ok(out)
}

/// Reads every record of one kind, in id order.
pub fn list_kind(kv: &mut (impl KvRead + ?Sized), kind: EntityKind) -> Result<Vec<Stored>> {
    kv.scan_prefix(Table::Records, &RecordKey::kind_prefix(kind))?
        .into_iter()
        .map(|(k, v)| codec::decode(RecordKey::from_bytes(&k)?, &v))
        .collect()
}

/// Reads the record holding a unique value.
pub fn get_unique(kv: &mut (impl KvRead + ?Sized), unique: &UniqueKey) -> Result<Option<Stored>> {
    match kv.get(Table::Unique, &unique.to_bytes())? {
        Some(owner) => {
            let key = RecordKey::from_bytes(&owner)?;
            match get(kv, key)? {
                Some(stored) => Ok(Some(stored)),
                None => Err(Error::Corrupt { record: key.to_string(), reason: format!("holds {unique} but missing") }),
            }
        }
        None => Ok(None),
    }
}

/// Reads every record, in key order.
pub fn dump(kv: &mut (impl KvRead + ?Sized)) -> Result<Vec<Stored>> {
    kv.scan_prefix(Table::Records, &[])?
        .into_iter()
        .map(|(k, v)| codec::decode(RecordKey::from_bytes(&k)?, &v))
        .collect()
}

/// How many records are in one list: its maintained counter.
pub fn count(kv: &mut (impl KvRead + ?Sized), index: Index) -> Result<u64> {
    counts::read(kv, index)
}

/// Refuses `tx` if one of its records encodes to more than
/// `max_record_bytes` (see [`codec::check_size`]). Every store runs it
/// before a transaction reaches its writer, so an oversized record never
/// holds up other tenants' commits.
pub fn check_record_sizes(tx: &Transaction, max_record_bytes: usize) -> Result<()> {
    for write in &tx.writes {
        if let Write::Create(record) | Write::Update(record, _) = write {
            codec::check_size(record, max_record_bytes)?;
        }
    }
    Ok(())
}

fn current_revision(kv: &mut (impl KvRead + ?Sized), key: RecordKey) -> Result<Option<Revision>> {
    kv.get(Table::Records, &key.to_bytes())?.map(|bytes| codec::revision_of(key, &bytes)).transpose()
}

fn expect_revision(kv: &mut (impl KvRead + ?Sized), key: RecordKey, expected: Revision) -> Result<()> {
    match current_revision(kv, key)? {
        Some(current) if current == expected => Ok(()),
        Some(current) => {
            Err(Error::Conflict(format!("{key} is at revision {current}, the write was based on {expected}")))
        }
        None => Err(Error::NotFound { entity: key.kind.name(), id: key.id_text() }),
    }
}

/// Applies `tx` to `kv`: every check, then every write with its index and
/// unique-key maintenance. On `Err` the caller must discard `kv`'s writes
/// (abort the backend transaction); on `Ok` commit them.
pub fn apply(kv: &mut (impl KvWrite + ?Sized), tx: &Transaction) -> Result<Receipt> {
    for check in &tx.checks {
        match check {
            Check::Revision(key, revision) => expect_revision(kv, *key, *revision)?,
            Check::Absent(key) => {
                if current_revision(kv, *key)?.is_some() {
                    return Err(Error::AlreadyExists { entity: key.kind.name(), key: key.id_text() });
                }
            }
            Check::Count { index, count } => {
                let now = counts::read(kv, *index)?;
                if now != *count {
                    return Err(Error::Conflict(format!("{index:?} changed: {now} entries, {count} when read")));
                }
            }
            Check::CountBelow { index, limit, message } => {
                if counts::read(kv, *index)? >= *limit {
                    return Err(Error::PolicyViolation(message.clone()));
                }
            }
        }
    }
    let mut receipt = Receipt::default();
    for write in &tx.writes {
        let key = write.key();
        let (old, new, revision) = match write {
            Write::Create(record) => {
                if current_revision(kv, key)?.is_some() {
                    return Err(Error::AlreadyExists { entity: key.kind.name(), key: key.id_text() });
                }
                (None, Some(record), Some(Revision::FIRST))
            }
            Write::Update(record, expected) => {
                let old = read_expected(kv, key, *expected)?;
                (Some(old), Some(record), Some(expected.next()))
            }
            Write::Delete(_, expected) => (Some(read_expected(kv, key, *expected)?), None, None),
        };
        reindex(kv, key, old.as_ref(), new)?;
        match (new, revision) {
            (Some(record), Some(revision)) => {
                kv.put(Table::Records, &key.to_bytes(), &codec::encode(record, revision)?)?
            }
            _ => kv.delete(Table::Records, &key.to_bytes())?,
        }
        receipt.written.push((key, revision));
    }
    Ok(receipt)
}

fn read_expected(kv: &mut (impl KvWrite + ?Sized), key: RecordKey, expected: Revision) -> Result<Record> {
    expect_revision(kv, key, expected)?;
    match get(kv, key)? {
        Some(stored) => Ok(stored.record),
        None => Err(Error::NotFound { entity: key.kind.name(), id: key.id_text() }),
    }
}

/// Moves `key`'s index entries and unique values from `old` to `new`.
fn reindex(kv: &mut (impl KvWrite + ?Sized), key: RecordKey, old: Option<&Record>, new: Option<&Record>) -> Result<()> {
    let entries = |r: Option<&Record>| -> BTreeSet<Vec<u8>> {
        r.map(|r| r.indexes().into_iter().map(|i| i.entry(key)).collect()).unwrap_or_default()
    };
    let uniques = |r: Option<&Record>| -> BTreeMap<Vec<u8>, UniqueKey> {
        r.map(|r| r.unique_keys().into_iter().map(|u| (u.to_bytes(), u)).collect()).unwrap_or_default()
    };
    let (old_entries, new_entries) = (entries(old), entries(new));
    for gone in old_entries.difference(&new_entries) {
        kv.delete(Table::Index, gone)?;
        counts::add(kv, gone, -1)?;
    }
    for added in new_entries.difference(&old_entries) {
        kv.put(Table::Index, added, &[])?;
        counts::add(kv, added, 1)?;
    }
    let (old_uniques, new_uniques) = (uniques(old), uniques(new));
    for gone in old_uniques.keys().filter(|k| !new_uniques.contains_key(*k)) {
        kv.delete(Table::Unique, gone)?;
    }
    let owner = key.to_bytes();
    for (bytes, unique) in new_uniques.iter().filter(|(k, _)| !old_uniques.contains_key(*k)) {
        if let Some(holder) = kv.get(Table::Unique, bytes)?
            && holder != owner
        {
            return Err(Error::AlreadyExists { entity: key.kind.name(), key: unique.to_string() });
        }
        kv.put(Table::Unique, bytes, &owner)?;
    }
    Ok(())
}

/// Rebuilds every index entry and unique value from the records and
/// compares them with what is stored. Returns one line per disagreement
/// (empty when consistent); a record that cannot be decoded is one line too.
pub fn verify(kv: &mut (impl KvRead + ?Sized)) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut want_index = BTreeSet::new();
    let mut want_unique = BTreeMap::new();
    for (k, v) in kv.scan_prefix(Table::Records, &[])? {
        let decoded = RecordKey::from_bytes(&k).and_then(|key| codec::decode(key, &v));
        match decoded {
            Ok(stored) => {
                let key = stored.record.key();
                want_index.extend(stored.record.indexes().into_iter().map(|i| i.entry(key)));
                for u in stored.record.unique_keys() {
                    if let Some(previous) = want_unique.insert(u.to_bytes(), key.to_bytes().to_vec()) {
                        problems.push(format!("{u} is held by two records ({} and {key})", hex(&previous)));
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    let have_index: BTreeSet<Vec<u8>> =
        kv.scan_prefix(Table::Index, &[])?.into_iter().map(|(k, _)| k).filter(|k| !counts::is_counter_key(k)).collect();
    for missing in want_index.difference(&have_index) {
        problems.push(format!("index entry {} is missing", hex(missing)));
    }
    for extra in have_index.difference(&want_index) {
        problems.push(format!("index entry {} points at nothing", hex(extra)));
    }
    let have_unique: BTreeMap<Vec<u8>, Vec<u8>> = kv.scan_prefix(Table::Unique, &[])?.into_iter().collect();
    if have_unique != want_unique {
        for (k, v) in &want_unique {
            if have_unique.get(k) != Some(v) {
                problems.push(format!("unique key {} should point at {}", hex(k), hex(v)));
            }
        }
        for k in have_unique.keys().filter(|k| !want_unique.contains_key(*k)) {
            problems.push(format!("unique key {} is held by no record", hex(k)));
        }
    }
    problems.extend(counts::verify(kv)?);
    Ok(problems)
}

mod memory;
mod overlay;

pub use memory::MemoryTables;
pub use overlay::{Change, Overlay};
