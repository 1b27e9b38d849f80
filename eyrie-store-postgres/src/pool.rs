//! The connection pool: deadpool over tokio-postgres, every connection with
//! its `search_path` set to the store's schema.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use eyrie_core::{Error, Result};
use tokio_postgres::NoTls;

use crate::config::PostgresConfig;

/// The longest a statement waits for a lock (the commit lock included).
pub(crate) const LOCK_TIMEOUT: &str = "30s";

/// How long a session may sit idle inside a transaction before the server
/// ends it: a process frozen mid-commit, or a `Store::snapshot` left open
/// and unused that long.
pub(crate) const IDLE_IN_TRANSACTION_TIMEOUT: &str = "5min";

/// Builds the pool. Opens no connection yet: the first call does, and a
/// connection the server dropped (a restart) is replaced when it is next
/// taken from the pool.
pub(crate) fn build(config: &PostgresConfig) -> Result<Pool> {
    let mut connection = config.connection.clone();
    // The schema name is a checked identifier (`PostgresConfig::schema`), so
    // it needs no escaping beyond the quotes.
    // A commit waits at most LOCK_TIMEOUT for the commit lock (then a
    // retryable error), and the server ends a session left idle inside a
    // transaction (a frozen process holding the lock or a snapshot) after
    // IDLE_IN_TRANSACTION_TIMEOUT, releasing what it held.
    connection.options(format!(
        "-c search_path=\"{}\" -c lock_timeout={LOCK_TIMEOUT} -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT}",
        config.schema
    ));
    if connection.get_application_name().is_none() {
        connection.application_name("eyrie");
    }
    connection.connect_timeout(config.connect_timeout);
    // `Fast` recycling: a connection whose socket closed is dropped and
    // replaced; one that broke silently fails its next statement with a
    // retryable `Backend` error and is then replaced.
    let manager = Manager::from_config(connection, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(config.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(config.connect_timeout))
        .create_timeout(Some(config.connect_timeout))
        .recycle_timeout(Some(config.connect_timeout))
        .build()
        .map_err(|e| Error::backend(format!("building the PostgreSQL pool: {e}"), false))
}
