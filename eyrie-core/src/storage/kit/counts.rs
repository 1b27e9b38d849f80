//! Maintained list counts: [`Check::Count`](crate::storage::Check::Count),
//! [`Check::CountBelow`](crate::storage::Check::CountBelow) and `Store::count` read one
//! counter instead of walking the list, so a write costs the same whether
//! its list holds 3 or 30,000 entries.
//!
//! Counters live in the index key space under tag 0, which no [`Index`]
//! uses, so every backend stores them without a new table:
//!
//! | key | value |
//! | --- | --- |
//! | `0 · list prefix (9)` | entries in that list, u64 big-endian; absent when 0 |
//! | `0` | the counters' format ([`COUNTERS_VERSION`]): present once every counter is maintained |
//!
//! The engine ([`crate::storage::kv::apply`]) changes a counter in the same
//! transaction as the entries it counts; [`crate::storage::kv::verify`] recounts
//! them. A store written before counters existed has no marker:
//! [`ensure`] (run by every store when it opens) counts its lists once.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::storage::keys::{Index, hex};
use crate::storage::kv::{KvRead, KvWrite, Table};

/// The first byte of every counter key; no index uses it.
const TAG: u8 = 0;

/// The key of the marker saying every counter is maintained.
const MARKER: [u8; 1] = [TAG];

/// The counters' format, stored under the marker.
pub const COUNTERS_VERSION: u8 = 1;

/// Whether an index-space key is a counter or the marker (not a list entry).
pub fn is_counter_key(key: &[u8]) -> bool {
    key.first() == Some(&TAG)
}

fn key_of_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + prefix.len());
    key.push(TAG);
    key.extend_from_slice(prefix);
    key
}

fn decode(key: &[u8], value: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| Error::Corrupt { record: hex(key), reason: "a list counter is not 8 bytes".into() })?;
    Ok(u64::from_be_bytes(bytes))
}

/// How many entries `index` holds.
pub fn read(kv: &mut (impl KvRead + ?Sized), index: Index) -> Result<u64> {
    read_prefix(kv, &index.prefix())
}

fn read_prefix(kv: &mut (impl KvRead + ?Sized), prefix: &[u8]) -> Result<u64> {
    let key = key_of_prefix(prefix);
    match kv.get(Table::Index, &key)? {
        Some(value) => decode(&key, &value),
        None => Ok(0),
    }
}

/// Adds `delta` to the counter of the list whose entry is `entry`.
pub(crate) fn add(kv: &mut (impl KvWrite + ?Sized), entry: &[u8], delta: i64) -> Result<()> {
    let prefix = entry
        .get(..Index::PREFIX_LEN)
        .ok_or_else(|| Error::Corrupt { record: hex(entry), reason: "index entry has the wrong length".into() })?;
    let now = read_prefix(kv, prefix)?;
    let next = now.saturating_add_signed(delta);
    let key = key_of_prefix(prefix);
    if next == 0 { kv.delete(Table::Index, &key) } else { kv.put(Table::Index, &key, &next.to_be_bytes()) }
}

/// The counts every list should have, recounted from its entries.
pub(crate) fn recount(kv: &mut (impl KvRead + ?Sized)) -> Result<BTreeMap<Vec<u8>, u64>> {
    let mut counts = BTreeMap::new();
    for (entry, _) in kv.scan_prefix(Table::Index, &[])? {
        if let Some(prefix) = entry.get(..Index::PREFIX_LEN).filter(|_| !is_counter_key(&entry)) {
            *counts.entry(key_of_prefix(prefix)).or_insert(0u64) += 1;
        }
    }
    Ok(counts)
}

/// The counters as stored (marker excluded).
pub(crate) fn stored(kv: &mut (impl KvRead + ?Sized)) -> Result<BTreeMap<Vec<u8>, u64>> {
    let mut out = BTreeMap::new();
    for (key, value) in kv.scan_prefix(Table::Index, &MARKER)? {
        if key.len() > 1 {
            let count = decode(&key, &value)?;
            out.insert(key, count);
        }
    }
    Ok(out)
}

/// The migration hook of the counters: on a store without the marker
/// (written before counters existed, or new), counts every list, stores the
/// counters and the marker. Returns whether it had to. Cheap when the
/// marker is there: one read.
pub fn ensure(kv: &mut (impl KvWrite + ?Sized)) -> Result<bool> {
    match kv.get(Table::Index, &MARKER)? {
        Some(version) if version == [COUNTERS_VERSION] => return Ok(false),
        Some(other) => {
            return Err(Error::Corrupt {
                record: "list counters".into(),
                reason: format!("unknown counters format {}", hex(&other)),
            });
        }
        None => {}
    }
    for key in stored(kv)?.into_keys() {
        kv.delete(Table::Index, &key)?;
    }
    for (key, count) in recount(kv)? {
        kv.put(Table::Index, &key, &count.to_be_bytes())?;
    }
    kv.put(Table::Index, &MARKER, &[COUNTERS_VERSION])?;
    Ok(true)
}

/// One line per counter that disagrees with its list.
pub(crate) fn verify(kv: &mut (impl KvRead + ?Sized)) -> Result<Vec<String>> {
    let (want, have) = (recount(kv)?, stored(kv)?);
    let mut problems = Vec::new();
    for (key, count) in &want {
        let stored = have.get(key).copied().unwrap_or(0);
        if stored != *count {
            problems.push(format!("list {} counts {stored} entries but holds {count}", hex(&key[1..])));
        }
    }
    for (key, count) in have.iter().filter(|(k, _)| !want.contains_key(*k)) {
        problems.push(format!("list {} counts {count} entries but holds none", hex(&key[1..])));
    }
    Ok(problems)
}
