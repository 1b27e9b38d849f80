//! The stored record format, shared by every backend.
//!
//! A stored value is an envelope:
//!
//! ```text
//! byte 0      format version (currently 1)
//! bytes 1..9  revision, u64 big-endian
//! bytes 9..   the record as JSON (serde's externally tagged enum: {"Deployment": {...}})
//! ```
//!
//! The format version lets a later release migrate records it reads; a
//! reader refuses versions it does not know with [`Error::Corrupt`] rather
//! than guessing. Secret fields are [`crate::SealedSecret`] blobs, so no
//! plaintext secret is ever in an envelope.

use super::keys::RecordKey;
use super::record::Record;
use super::tx::{Revision, Stored};
use crate::error::{Error, Result};

/// The current format version.
pub const FORMAT_VERSION: u8 = 1;

/// Encodes `record` at `revision`.
pub fn encode(record: &Record, revision: Revision) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&revision.0.to_be_bytes());
    serde_json::to_writer(&mut out, record)
        .map_err(|e| Error::backend(format!("cannot encode {}: {e}", record.key()), false))?;
    Ok(out)
}

/// Decodes an envelope stored under `key`. Any damage gives
/// [`Error::Corrupt`] naming the record; nothing panics.
pub fn decode(key: RecordKey, bytes: &[u8]) -> Result<Stored> {
    let corrupt = |reason: String| Error::Corrupt { record: key.to_string(), reason };
    let [version, rest @ ..] = bytes else { return Err(corrupt("empty value".into())) };
    if *version != FORMAT_VERSION {
        return Err(corrupt(format!("unknown format version {version}")));
    }
    let (revision, json) = rest.split_at_checked(8).ok_or_else(|| corrupt("truncated header".into()))?;
    let revision = Revision(u64::from_be_bytes(revision.try_into().map_err(|_| corrupt("truncated header".into()))?));
    let record: Record = serde_json::from_slice(json).map_err(|e| corrupt(format!("undecodable body: {e}")))?;
    if record.key() != key {
        return Err(corrupt(format!("holds {} instead", record.key())));
    }
    Ok(Stored { revision, record })
}

/// Reads only the revision of an envelope.
pub fn revision_of(key: RecordKey, bytes: &[u8]) -> Result<Revision> {
    match bytes {
        [FORMAT_VERSION, rest @ ..] if rest.len() >= 8 => {
            let mut r = [0u8; 8];
            r.copy_from_slice(&rest[..8]);
            Ok(Revision(u64::from_be_bytes(r)))
        }
        _ => Err(Error::Corrupt { record: key.to_string(), reason: "bad envelope header".into() }),
    }
}
