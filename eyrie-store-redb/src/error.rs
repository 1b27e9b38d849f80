//! How redb's failures map into Eyrie's portable [`Error`].
//!
//! | redb | [`eyrie_core::ErrorKind`] | retryable |
//! | --- | --- | --- |
//! | `Corrupted` (a checksum or structure check failed) | `Corrupt`, naming the database file | no |
//! | `Io` of kind `InvalidData` (the file is not a redb database) | `Backend` | no |
//! | any other `Io` (disk full, interrupted, …) | `Backend` | yes |
//! | `DatabaseAlreadyOpen` and everything else | `Backend` | no |
//!
//! Messages say what the store was doing and carry redb's text, which never
//! contains record contents.

use std::io::ErrorKind as IoKind;

use eyrie_core::Error;

/// What `Error::Corrupt` names when the damage is in the file, not in one record.
pub(crate) const DATABASE_FILE: &str = "database file";

/// Maps a redb failure that happened while doing `context`.
pub(crate) fn from_redb(context: &str, error: impl Into<redb::Error>) -> Error {
    let error: redb::Error = error.into();
    match &error {
        redb::Error::Corrupted(reason) => {
            Error::Corrupt { record: DATABASE_FILE.to_owned(), reason: format!("{context}: {reason}") }
        }
        redb::Error::Io(io) if io.kind() == IoKind::InvalidData => {
            Error::backend(format!("{context}: not a readable redb database ({error})"), false)
        }
        redb::Error::Io(_) => Error::backend(format!("{context}: {error}"), true),
        redb::Error::DatabaseAlreadyOpen => {
            Error::backend(format!("{context}: the database file is already open in another store or process"), false)
        }
        _ => Error::backend(format!("{context}: {error}"), false),
    }
}

/// The text of a caught panic.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "panicked".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyrie_core::ErrorKind;

    #[test]
    fn kinds_and_retryability() {
        let corrupt = from_redb("reading", redb::StorageError::Corrupted("bad checksum".into()));
        assert_eq!(corrupt.kind(), ErrorKind::Corrupt);
        assert!(corrupt.to_string().contains("database file") && corrupt.to_string().contains("bad checksum"));

        let not_db = from_redb("opening", std::io::Error::new(IoKind::InvalidData, "bad magic"));
        assert_eq!((not_db.kind(), not_db.is_retryable()), (ErrorKind::Backend, false));

        let disk_full = from_redb("committing", std::io::Error::other("no space left"));
        assert_eq!((disk_full.kind(), disk_full.is_retryable()), (ErrorKind::Backend, true));

        let open = from_redb("opening", redb::DatabaseError::DatabaseAlreadyOpen);
        assert_eq!((open.kind(), open.is_retryable()), (ErrorKind::Backend, false));
        assert!(open.to_string().contains("already open"), "{open}");
    }
}
