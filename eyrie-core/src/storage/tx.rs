//! What a store reads ([`Stored`], [`Versioned`]) and what it commits
//! ([`Transaction`]: checks, then writes, all or nothing).

use std::fmt;

use super::keys::{Index, RecordKey};
use super::record::{Entity, Record};

/// A record's revision: 1 when created, +1 on every update. A write based
/// on a stale revision fails with [`crate::Error::Conflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Revision(pub u64);

impl Revision {
    /// The revision of a newly created record.
    pub const FIRST: Revision = Revision(1);

    /// The next revision.
    pub fn next(self) -> Revision {
        Revision(self.0.saturating_add(1))
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A record as stored, with its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its current revision.
    pub revision: Revision,
    /// The record.
    pub record: Record,
}

/// A typed record with its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// Its current revision.
    pub revision: Revision,
    /// The record.
    pub value: T,
}

impl<T: Entity> Versioned<T> {
    /// Converts a [`Stored`] of kind `T`; `None` for another kind.
    pub fn from_stored(stored: Stored) -> Option<Self> {
        T::from_record(stored.record).map(|value| Versioned { revision: stored.revision, value })
    }
}

/// A condition the store checks, atomically with the writes, before writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The record exists at exactly this revision (it was read and its
    /// content matters to the writes). Fails with `Conflict`, or `NotFound`.
    Revision(RecordKey, Revision),
    /// The record does not exist. Fails with `AlreadyExists`.
    Absent(RecordKey),
    /// The list has exactly `count` entries, as when it was read. Fails with
    /// `Conflict` (retryable): used to make "nothing was added meanwhile" part
    /// of a decision, e.g. deleting a group that had no live deployment.
    Count {
        /// The list.
        index: Index,
        /// The count seen.
        count: u64,
    },
    /// The list has fewer than `limit` entries. Fails with `PolicyViolation`
    /// carrying `message`. Evaluated before this transaction's writes.
    CountBelow {
        /// The list.
        index: Index,
        /// Exclusive upper bound.
        limit: u64,
        /// Why the limit exists, for the error.
        message: String,
    },
}

/// One write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert a new record at revision 1. Fails with `AlreadyExists` if the
    /// key or one of its unique values is taken.
    Create(Record),
    /// Replace a record currently at `Revision`. Fails with `NotFound`,
    /// `Conflict` (stale revision) or `AlreadyExists` (a unique value taken).
    Update(Record, Revision),
    /// Delete a record currently at `Revision`. Fails with `NotFound` or `Conflict`.
    Delete(RecordKey, Revision),
}

impl Write {
    /// The key written.
    pub fn key(&self) -> RecordKey {
        match self {
            Write::Create(r) | Write::Update(r, _) => r.key(),
            Write::Delete(k, _) => *k,
        }
    }
}

/// Checks and writes applied all together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    /// Evaluated first, against the state before the writes.
    pub checks: Vec<Check>,
    /// Applied in order; each sees the ones before it.
    pub writes: Vec<Write>,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check.
    pub fn check(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }

    /// Requires `v` to be unchanged.
    pub fn unchanged<T: Entity>(self, v: &Versioned<T>) -> Self {
        self.check(Check::Revision(v.value.key(), v.revision))
    }

    /// Creates `value`.
    pub fn create<T: Entity>(mut self, value: T) -> Self {
        self.writes.push(Write::Create(value.into_record()));
        self
    }

    /// Replaces the record read as `read` with `value`.
    pub fn update<T: Entity>(mut self, read: &Versioned<T>, value: T) -> Self {
        self.writes.push(Write::Update(value.into_record(), read.revision));
        self
    }

    /// Deletes the record read as `read`.
    pub fn delete<T: Entity>(mut self, read: &Versioned<T>) -> Self {
        self.writes.push(Write::Delete(read.value.key(), read.revision));
        self
    }
}

/// What a committed transaction wrote: each written key with its new
/// revision (`None` for deletes), in write order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Written keys and their new revisions.
    pub written: Vec<(RecordKey, Option<Revision>)>,
}
