//! Shared by the integration tests: the server to test against, a fresh
//! schema per store, and cleanup.
//!
//! Tests need a PostgreSQL server named by `EYRIE_POSTGRES_URL`
//! (`.ci/run` starts one). Without it they print why and pass, unless
//! `EYRIE_POSTGRES_REQUIRED=1` says the server must be there (CI), where
//! they fail instead.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

pub mod procs;

use eyrie_core::storage::Store;
use eyrie_store_postgres::{PostgresConfig, PostgresStore};

/// The URL of the server to test against.
pub const URL_VAR: &str = "EYRIE_POSTGRES_URL";
/// Set to `1` where a missing server must fail the tests.
pub const REQUIRED_VAR: &str = "EYRIE_POSTGRES_REQUIRED";

/// Whether a missing server must fail the tests.
pub fn required() -> bool {
    std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "1")
}

/// Says why `test` is skipped, or fails when the server is required.
pub fn skip(test: &str, reason: &str) {
    assert!(!required(), "{test}: {reason}, and {REQUIRED_VAR}=1 says it must run");
    eprintln!("SKIPPED {test}: {reason} (see the README's PostgreSQL section)");
}

/// The server URL, or `None` (after saying so) when `test` must skip.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip(test, &format!("{URL_VAR} is not set"));
            None
        }
    }
}

/// A schema name no other test uses.
pub fn fresh_schema(tag: &str) -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("OS randomness");
    format!("eyrie_test_{tag}_{:016x}", u64::from_le_bytes(bytes))
}

/// Settings for `schema` on the server at `url`.
pub fn config(url: &str, schema: &str) -> PostgresConfig {
    PostgresConfig::new(url).expect("the URL parses").schema(schema).expect("a valid schema name")
}

/// Opens a store in `schema`.
pub async fn open(url: &str, schema: &str) -> PostgresStore {
    PostgresStore::open(config(url, schema)).await.expect("the store opens")
}

/// A direct connection for SQL the tests run themselves.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connects");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Drops the schemas a test made.
pub async fn drop_schemas(url: &str, schemas: &[String]) {
    let client = connect(url).await;
    for schema in schemas {
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await.expect("drop schema");
    }
}

/// Fails the test if `store` is inconsistent.
pub async fn assert_consistent(store: &(impl Store + ?Sized)) {
    let problems = store.verify().await.expect("verify runs");
    assert!(problems.is_empty(), "verify found problems: {problems:#?}");
}
