//! [`PostgresConfig`]: where the store lives and how many connections it uses.

use std::fmt;
use std::time::Duration;

use eyrie_core::{Error, Result};

/// The default PostgreSQL schema holding Eyrie's tables.
pub const DEFAULT_SCHEMA: &str = "eyrie";

/// How to reach the database, built with defaults and changed field by
/// field.
///
/// ```
/// use eyrie_store_postgres::PostgresConfig;
///
/// let config = PostgresConfig::new("postgres://eyrie:secret@127.0.0.1:5432/eyrie")?
///     .schema("tenant_a")?
///     .pool_size(8);
/// assert!(!format!("{config:?}").contains("secret"), "Debug never shows the password");
/// # Ok::<(), eyrie_core::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct PostgresConfig {
    /// The parsed connection settings (URL or `key=value` form).
    pub(crate) connection: tokio_postgres::Config,
    /// The schema holding the tables; every pooled connection sets its
    /// `search_path` to it.
    pub(crate) schema: String,
    /// The most connections the pool opens.
    pub(crate) pool_size: usize,
    /// How long a call waits for a connection (or to open one) before it
    /// fails with a retryable `Backend` error.
    pub(crate) connect_timeout: Duration,
    /// How often a commit that lost a serialization race is re-run before
    /// `Conflict` is returned.
    pub(crate) serialization_retries: u32,
    /// Whether every commit runs alone (the commit lock taken exclusively
    /// on the first attempt).
    pub(crate) serial_commits: bool,
    /// The longest record envelope a commit may write.
    pub(crate) max_record_bytes: usize,
}

impl PostgresConfig {
    /// Settings for the database at `url` (`postgres://user:password@host:port/db`
    /// or the `host=… user=…` form), with the defaults: schema
    /// [`DEFAULT_SCHEMA`], 16 connections, a 10 s connection time-out, 16
    /// re-runs of a commit that lost a serialization race, serial commits
    /// and records up to 1 MiB.
    ///
    /// Fails with a non-retryable `Backend` error when `url` cannot be parsed;
    /// the message never repeats the URL (it may hold a password).
    pub fn new(url: &str) -> Result<Self> {
        let connection: tokio_postgres::Config =
            url.parse().map_err(|_| Error::backend("the PostgreSQL connection string cannot be parsed", false))?;
        Ok(PostgresConfig {
            connection,
            schema: DEFAULT_SCHEMA.to_owned(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(10),
            serialization_retries: 16,
            serial_commits: true,
            max_record_bytes: eyrie_core::storage::kit::codec::DEFAULT_MAX_RECORD_BYTES,
        })
    }

    /// Keeps the tables in `schema` (created when missing): a lowercase SQL
    /// identifier of 1–63 characters (`a-z`, digits, `_`, not starting with a
    /// digit). Several stores may share one database in different schemas.
    pub fn schema(mut self, schema: &str) -> Result<Self> {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !schema.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(Error::Invalid(eyrie_core::ValidationError::field(
                "schema",
                schema,
                "must be a lowercase SQL identifier (a-z, 0-9, _; 1-63 characters; not starting with a digit)",
            )));
        }
        self.schema = schema.to_owned();
        Ok(self)
    }

    /// Opens at most `size` connections (at least 1).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Waits at most `timeout` for a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Re-runs a commit that lost a serialization race up to `retries` times.
    pub fn serialization_retries(mut self, retries: u32) -> Self {
        self.serialization_retries = retries;
        self
    }

    /// With `true` (the default), every commit takes the schema's commit
    /// lock exclusively from its first attempt: commits from all processes
    /// run one at a time and never lose a serialization race. With `false`,
    /// first attempts run side by side under `SERIALIZABLE` and only a re-run
    /// after a lost race runs alone. Every commit that adds to or removes
    /// from a list also updates that list's counter, so commits touching the
    /// same lists (job states, a group's deployments) conflict; measured in
    /// `benches/README.md`, concurrent first attempts did not commit faster
    /// than serial ones even with 16 writers, so serial is the default.
    pub fn serial_commits(mut self, serial: bool) -> Self {
        self.serial_commits = serial;
        self
    }

    /// Refuses commits writing a record whose envelope is longer than
    /// `bytes` (default 1 MiB) with `Invalid`, as every store does.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// The schema holding the tables.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("hosts", &self.connection.get_hosts())
            .field("ports", &self.connection.get_ports())
            .field("user", &self.connection.get_user())
            .field("dbname", &self.connection.get_dbname())
            .field("password", &self.connection.get_password().map(|_| "<redacted>"))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("serialization_retries", &self.serialization_retries)
            .field("serial_commits", &self.serial_commits)
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyrie_core::ErrorKind;

    #[test]
    fn schema_names_are_checked() {
        let config = PostgresConfig::new("postgres://u@127.0.0.1/db").unwrap();
        for bad in ["", "Upper", "1abc", "a-b", "a;drop", "x\"y", &"a".repeat(64)] {
            assert_eq!(config.clone().schema(bad).unwrap_err().kind(), ErrorKind::Invalid, "{bad:?}");
        }
        for good in ["eyrie", "t_1", "_x", &"a".repeat(63)] {
            assert_eq!(config.clone().schema(good).unwrap().schema_name(), good);
        }
    }

    #[test]
    fn an_unparsable_url_is_refused_without_repeating_it() {
        let e = PostgresConfig::new("postgres://u:hunter2@[::1/db").unwrap_err();
        assert_eq!((e.kind(), e.is_retryable()), (ErrorKind::Backend, false));
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn debug_redacts_the_password() {
        let config = PostgresConfig::new("host=127.0.0.1 user=u password=hunter2 dbname=d").unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && shown.contains("<redacted>"), "{shown}");
    }
}
