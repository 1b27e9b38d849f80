//! How PostgreSQL's failures map into Eyrie's portable [`Error`].
//!
//! | failure | [`eyrie_core::ErrorKind`] | retryable |
//! | --- | --- | --- |
//! | SQLSTATE `40001` (serialization failure), `40P01` (deadlock) | `Conflict` | yes |
//! | `55P03` (a lock, e.g. the commit lock, not granted within `lock_timeout`) | `Backend` | yes |
//! | a lost or refused connection: no SQLSTATE (I/O, closed), class `08`, `57P01`–`57P03` (shutdown, starting up), `53300` (too many connections) | `Backend` | yes |
//! | the pool timed out waiting for a connection | `Backend` | yes |
//! | any other SQLSTATE | `Backend` | no |
//! | a schema newer than this build ([`SchemaTooNew`]) | `Backend` | no |
//!
//! Messages say what the store was doing and carry the server's text; they
//! never contain the connection string.

use deadpool_postgres::PoolError;
use eyrie_core::Error;
use tokio_postgres::error::SqlState;

/// The database holds a schema version this build does not know: a newer
/// release migrated it. Opening refuses it rather than guessing; converts
/// into a non-retryable `Backend` error naming both versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaTooNew {
    /// The version found in the database.
    pub found: i32,
    /// The newest version this build knows.
    pub known: i32,
}

impl std::fmt::Display for SchemaTooNew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the database holds Eyrie schema version {}, newer than {} known to this build: upgrade Eyrie",
            self.found, self.known
        )
    }
}

impl std::error::Error for SchemaTooNew {}

impl From<SchemaTooNew> for Error {
    fn from(e: SchemaTooNew) -> Self {
        Error::backend(e.to_string(), false)
    }
}

/// Whether `state` means the transaction lost a race and nothing was applied.
fn is_serialization_failure(state: &SqlState) -> bool {
    *state == SqlState::T_R_SERIALIZATION_FAILURE || *state == SqlState::T_R_DEADLOCK_DETECTED
}

/// Whether `state` means the connection was lost or refused, or a lock
/// was not granted, for now.
fn is_connection_failure(state: &SqlState) -> bool {
    state.code().starts_with("08")
        || *state == SqlState::LOCK_NOT_AVAILABLE
        || *state == SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT
        || *state == SqlState::ADMIN_SHUTDOWN
        || *state == SqlState::CRASH_SHUTDOWN
        || *state == SqlState::CANNOT_CONNECT_NOW
        || *state == SqlState::TOO_MANY_CONNECTIONS
}

/// The driver's text, with the server's message and SQLSTATE when there
/// is one (the driver's own `Display` only says "db error").
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => error.to_string(),
    }
}

/// Maps a driver failure that happened while doing `context`.
pub(crate) fn from_pg(context: &str, error: &tokio_postgres::Error) -> Error {
    let error_text = describe(error);
    match error.code() {
        Some(state) if is_serialization_failure(state) => {
            Error::Conflict(format!("{context}: lost a serialization race with another commit ({})", state.code()))
        }
        Some(state) if is_connection_failure(state) => Error::backend(format!("{context}: {error_text}"), true),
        Some(_) => Error::backend(format!("{context}: {error_text}"), false),
        // No SQLSTATE: the connection broke (I/O, closed, protocol).
        None => Error::backend(format!("{context}: connection to PostgreSQL lost: {error_text}"), true),
    }
}

/// Whether a driver failure is a lost serialization race (the commit may be
/// re-run from the start).
pub(crate) fn is_retryable_race(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(is_serialization_failure)
}

/// Maps a failure to get a connection from the pool.
pub(crate) fn from_pool(error: PoolError) -> Error {
    match error {
        PoolError::Backend(e) => from_pg("connecting to PostgreSQL", &e),
        PoolError::Timeout(_) => Error::backend("no PostgreSQL connection became available in time", true),
        PoolError::Closed => Error::backend("the PostgreSQL pool is closed", false),
        other => Error::backend(format!("getting a PostgreSQL connection: {other}"), true),
    }
}

/// A blocking bridge task failed to run to its end (it panicked or the
/// runtime is shutting down).
pub(crate) fn task_failed(what: &str, error: tokio::task::JoinError) -> Error {
    Error::backend(format!("{what} did not finish: {error}"), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyrie_core::ErrorKind;

    #[test]
    fn sqlstates_are_classified() {
        assert!(is_serialization_failure(&SqlState::T_R_SERIALIZATION_FAILURE));
        assert!(is_serialization_failure(&SqlState::T_R_DEADLOCK_DETECTED));
        assert!(!is_serialization_failure(&SqlState::UNIQUE_VIOLATION));
        for lost in [
            SqlState::CONNECTION_FAILURE,
            SqlState::CONNECTION_EXCEPTION,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::LOCK_NOT_AVAILABLE,
        ] {
            assert!(is_connection_failure(&lost), "{}", lost.code());
        }
        assert!(!is_connection_failure(&SqlState::SYNTAX_ERROR));
        assert!(!is_connection_failure(&SqlState::T_R_SERIALIZATION_FAILURE));
    }

    #[test]
    fn a_newer_schema_is_a_permanent_backend_error_naming_both_versions() {
        let e = Error::from(SchemaTooNew { found: 9, known: 1 });
        assert_eq!((e.kind(), e.is_retryable()), (ErrorKind::Backend, false));
        assert!(e.to_string().contains("version 9") && e.to_string().contains("1 known"), "{e}");
    }

    #[test]
    fn a_pool_timeout_is_retryable() {
        let e = from_pool(PoolError::Timeout(deadpool_postgres::TimeoutType::Wait));
        assert_eq!((e.kind(), e.is_retryable()), (ErrorKind::Backend, true));
        assert!(!from_pool(PoolError::Closed).is_retryable());
    }
}
