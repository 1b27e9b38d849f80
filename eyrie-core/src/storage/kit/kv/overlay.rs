//! [`Overlay`]: pending writes over a read snapshot, for backends whose
//! transactions cannot read their own writes, and for group commit (each
//! transaction of a batch on its own overlay over the batch so far).

use std::collections::BTreeMap;

use super::{KvRead, KvWrite, Pairs, Table};
use crate::error::Result;

/// Pending writes over a read snapshot, for backends whose transactions
/// cannot read their own writes or scan. Reads see the pending writes;
/// [`Overlay::into_changes`] hands the final changes to the backend to apply
/// atomically. The caller must keep other writers out between the reads
/// and the apply (a mutex around the write path).
#[derive(Debug)]
pub struct Overlay<'a, R: KvRead + ?Sized> {
    base: &'a mut R,
    pending: BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>,
}

/// A change to apply: `None` deletes.
pub type Change = (Table, Vec<u8>, Option<Vec<u8>>);

impl<'a, R: KvRead + ?Sized> Overlay<'a, R> {
    /// An overlay over `base`.
    pub fn new(base: &'a mut R) -> Self {
        Overlay { base, pending: BTreeMap::new() }
    }

    /// The final changes, in table and key order.
    pub fn into_changes(self) -> Vec<Change> {
        self.pending.into_iter().map(|((t, k), v)| (t, k, v)).collect()
    }
}

impl<R: KvRead + ?Sized> KvRead for Overlay<'_, R> {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.pending.get(&(table, key.to_vec())) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(table, key),
        }
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self.base.scan_prefix(table, prefix)?.into_iter().collect();
        for ((t, k), v) in self.pending.range((table, prefix.to_vec())..) {
            if *t != table || !k.starts_with(prefix) {
                break;
            }
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    /// Counts without copying the base: the base's count, corrected by the
    /// pending writes under the prefix (a `CountBelow` check on a long list
    /// stays cheap).
    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        let mut count = self.base.count_prefix(table, prefix)?;
        let pending: Vec<(Vec<u8>, bool)> = self
            .pending
            .range((table, prefix.to_vec())..)
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
            .map(|((_, k), v)| (k.clone(), v.is_some()))
            .collect();
        for (key, present) in pending {
            match (self.base.get(table, &key)?.is_some(), present) {
                (false, true) => count += 1,
                (true, false) => count = count.saturating_sub(1),
                _ => {}
            }
        }
        Ok(count)
    }
}

impl<R: KvRead + ?Sized> KvWrite for Overlay<'_, R> {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()> {
        self.pending.insert((table, key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, table: Table, key: &[u8]) -> Result<()> {
        self.pending.insert((table, key.to_vec()), None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::kv::MemoryTables;

    #[test]
    fn overlay_counts_match_its_scans() {
        let mut base = MemoryTables::default();
        for k in [b"a1", b"a2", b"a3", b"b1"] {
            base.raw_mut(Table::Index).insert(k.to_vec(), Vec::new());
        }
        let mut overlay = Overlay::new(&mut base);
        overlay.delete(Table::Index, b"a1").unwrap();
        overlay.put(Table::Index, b"a2", b"x").unwrap(); // replaces, no change in count
        overlay.put(Table::Index, b"a9", b"").unwrap();
        overlay.put(Table::Index, b"a8", b"").unwrap();
        overlay.delete(Table::Index, b"a8").unwrap(); // added then removed
        overlay.delete(Table::Index, b"a7").unwrap(); // removing what never was
        overlay.put(Table::Records, b"a5", b"").unwrap(); // another table
        for prefix in [&b"a"[..], b"a1", b"b", b"", b"z"] {
            let scanned = overlay.scan_prefix(Table::Index, prefix).unwrap().len() as u64;
            assert_eq!(overlay.count_prefix(Table::Index, prefix).unwrap(), scanned, "prefix {prefix:?}");
        }
        assert_eq!(overlay.count_prefix(Table::Index, b"a").unwrap(), 3);
    }
}
