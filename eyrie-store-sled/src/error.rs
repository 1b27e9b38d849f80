//! Errors of opening a store ([`OpenError`]) and the mapping of sled's
//! failures into Eyrie's portable [`eyrie_core::Error`].

use eyrie_core::Error;

/// Why a store could not be opened; `open` reports it as a non-retryable
/// [`Error::Backend`] carrying this text.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// sled itself failed (I/O, a lock held by another process, damage).
    #[error("cannot open sled store at {path}: {message}")]
    Sled {
        /// The store's directory.
        path: String,
        /// sled's error.
        message: String,
    },
    /// The store was written with an on-disk layout this version does not know.
    #[error("sled store at {path} has layout version {found}; this version reads only {supported}")]
    UnknownLayout {
        /// The store's directory.
        path: String,
        /// The layout version found on disk.
        found: u32,
        /// The one this version reads and writes.
        supported: u32,
    },
    /// The layout metadata is missing from a store that holds data, or is unreadable.
    #[error("sled store at {path} has bad layout metadata: {reason}")]
    BadMetadata {
        /// The store's directory.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        Error::backend(e.to_string(), false)
    }
}

/// Maps a sled failure (during reads, writes or flushes) into a
/// non-retryable [`Error::Backend`]: sled's errors are I/O failures,
/// unsupported operations or reported bugs, none of which a retry fixes.
pub(crate) fn backend(what: &str, e: sled::Error) -> Error {
    Error::backend(format!("sled {what} failed: {e}"), false)
}
