//! The stored record format, shared by every backend.
//!
//! A stored value is an envelope:
//!
//! ```text
//! byte 0      format version (currently 2)
//! bytes 1..9  revision, u64 big-endian
//! bytes 9..   the record's body as JSON
//! ```
//!
//! | version | body |
//! | --- | --- |
//! | 1 | the [`Record`] enum, externally tagged: `{"Deployment": {...}}` |
//! | 2 | the entity alone, `{...}`: the record key's kind tag says which |
//!
//! Version 2 makes the stored bytes independent of Rust enum variant names
//! (only the stable kind tags of the keys matter) and drops the redundant
//! tag. Every reader goes through [`upgrade`], the migration hook: it turns
//! a body of any known version into a current [`Record`]. Records are
//! migrated lazily: an older envelope reads as the current record and is
//! rewritten in the current version the next time it is written. A reader
//! refuses versions it does not know with [`Error::Corrupt`] rather than
//! guessing. Secret fields are [`crate::SealedSecret`] blobs, so no
//! plaintext secret is ever in an envelope.

use crate::error::{Error, Result};
use crate::storage::keys::RecordKey;
use crate::storage::record::Record;
use crate::storage::tx::{Revision, Stored};
use crate::validate::ValidationError;

/// The version this build writes.
pub const FORMAT_VERSION: u8 = 2;

/// The oldest version this build reads.
pub const OLDEST_READABLE_VERSION: u8 = 1;

/// Bytes before the body: version and revision.
pub const HEADER_LEN: usize = 9;

/// The default bound on an encoded record (`max_record_bytes`): 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Encodes `record` at `revision`.
pub fn encode(record: &Record, revision: Revision) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&revision.0.to_be_bytes());
    record.write_body(&mut out).map_err(|e| Error::backend(format!("cannot encode {}: {e}", record.key()), false))?;
    Ok(out)
}

/// The length of `record`'s envelope, without building it.
pub fn encoded_len(record: &Record) -> Result<usize> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    record.write_body(&mut count).map_err(|e| Error::backend(format!("cannot encode {}: {e}", record.key()), false))?;
    Ok(HEADER_LEN + count.0)
}

/// Refuses `record` when its envelope is longer than `max_bytes`, with
/// [`Error::Invalid`] naming the kind and both sizes (nothing of the content).
pub fn check_size(record: &Record, max_bytes: usize) -> Result<()> {
    let len = encoded_len(record)?;
    if len > max_bytes {
        let kind = record.key().kind;
        return Err(Error::Invalid(ValidationError::field(
            "record",
            format!("{kind} of {len} bytes"),
            format!("a stored record may hold at most {max_bytes} bytes"),
        )));
    }
    Ok(())
}

/// Decodes an envelope stored under `key`, upgrading older versions
/// ([`upgrade`]). Any damage gives [`Error::Corrupt`] naming the record;
/// nothing panics.
pub fn decode(key: RecordKey, bytes: &[u8]) -> Result<Stored> {
    let corrupt = |reason: String| Error::Corrupt { record: key.to_string(), reason };
    let [version, rest @ ..] = bytes else { return Err(corrupt("empty value".into())) };
    let (revision, body) = rest.split_at_checked(8).ok_or_else(|| corrupt("truncated header".into()))?;
    let revision = Revision(u64::from_be_bytes(revision.try_into().map_err(|_| corrupt("truncated header".into()))?));
    let record = upgrade(key, *version, body)?;
    if record.key() != key {
        return Err(corrupt(format!("holds {} instead", record.key())));
    }
    Ok(Stored { revision, record })
}

/// The migration hook: reads a body written in format `version` as a
/// current [`Record`]. Add an arm here when the format changes; never
/// remove one while stores of that version may exist.
pub fn upgrade(key: RecordKey, version: u8, body: &[u8]) -> Result<Record> {
    let corrupt = |reason: String| Error::Corrupt { record: key.to_string(), reason };
    let undecodable = |e: serde_json::Error| corrupt(format!("undecodable body (format {version}): {e}"));
    match version {
        1 => serde_json::from_slice::<Record>(body).map_err(undecodable),
        FORMAT_VERSION => Record::read_body(key.kind, body).map_err(undecodable),
        other => Err(corrupt(format!("unknown format version {other}"))),
    }
}

/// Reads only the revision of an envelope.
pub fn revision_of(key: RecordKey, bytes: &[u8]) -> Result<Revision> {
    match bytes {
        [version, rest @ ..] if (OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(version) && rest.len() >= 8 => {
            let mut r = [0u8; 8];
            r.copy_from_slice(&rest[..8]);
            Ok(Revision(u64::from_be_bytes(r)))
        }
        _ => Err(Error::Corrupt { record: key.to_string(), reason: "bad envelope header".into() }),
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
