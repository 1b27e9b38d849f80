//! The SQL schema: its tables, its version, and the migrations that bring a
//! database up to [`SCHEMA_VERSION`].
//!
//! Version 1:
//!
//! | table | columns | holds |
//! | --- | --- | --- |
//! | `records` | `key bytea` (primary key), `kind text`, `id numeric(20)`, `revision bigint`, `format smallint`, `body jsonb`, `envelope bytea` | one row per record |
//! | `index_entries` | `entry bytea` (primary key), `value bytea` | one row per list entry (empty value), and one per list counter (key tag 0, the count as 8 bytes big-endian; see [`eyrie_core::storage::kit::counts`]) |
//! | `unique_values` | `value bytea` (primary key), `owner bytea` | unique value → owning record key |
//! | `schema_version` | `version integer` | one row: the schema version |
//!
//! In `records`, `envelope` is the exact record envelope of
//! [`eyrie_core::storage::kit::codec`] and the only column the store reads;
//! `kind`, `id`, `revision`, `format` and `body` (the record's JSON) are
//! written beside it in the same statement so operators can query records
//! with SQL (`body ->> 'slug'`; an envelope of format 1, written before
//! format 2 and not rewritten since, holds `{"Deployment": {...}}` instead).
//! Editing them by hand changes nothing the store sees.

use deadpool_postgres::GenericClient;
use eyrie_core::Result;

use crate::error::{SchemaTooNew, from_pg};

/// The schema version this build creates and reads.
pub const SCHEMA_VERSION: i32 = 1;

/// `MIGRATIONS[n]` takes a schema from version `n` to `n + 1`; it runs
/// with `search_path` set to the store's schema.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [r#"
CREATE TABLE records (
    key bytea PRIMARY KEY,
    kind text NOT NULL,
    id numeric(20, 0) NOT NULL,
    revision bigint NOT NULL,
    format smallint NOT NULL,
    body jsonb NOT NULL,
    envelope bytea NOT NULL
);
CREATE INDEX records_kind_id ON records (kind, id);
CREATE TABLE index_entries (entry bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE unique_values (value bytea PRIMARY KEY, owner bytea NOT NULL);
"#];

/// Creates the schema when missing and migrates it to [`SCHEMA_VERSION`],
/// in one transaction that holds an advisory lock, so processes opening
/// the same schema at once do it once. Refuses a newer version with
/// [`SchemaTooNew`] and changes nothing then.
pub(crate) async fn prepare(client: &mut deadpool_postgres::Client, schema: &str) -> Result<()> {
    let failed = |what: &str, e: tokio_postgres::Error| from_pg(&format!("preparing schema {schema}: {what}"), &e);
    let txn = client.transaction().await.map_err(|e| failed("begin", e))?;
    let lock_name = format!("eyrie schema {schema}");
    txn.execute("SELECT pg_advisory_xact_lock(hashtext($1)::bigint)", &[&lock_name])
        .await
        .map_err(|e| failed("locking", e))?;
    // `schema` is a checked identifier (see `PostgresConfig::schema`).
    txn.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET LOCAL search_path TO \"{schema}\";
         CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);"
    ))
    .await
    .map_err(|e| failed("creating", e))?;
    let row = txn.query_one("SELECT max(version) FROM schema_version", &[]).await.map_err(|e| failed("reading", e))?;
    let found: i32 = row.try_get::<_, Option<i32>>(0).map_err(|e| failed("reading", e))?.unwrap_or(0);
    check_version(found)?;
    if found == SCHEMA_VERSION {
        return Ok(()); // the transaction rolls back on drop; it changed nothing
    }
    for (from, migration) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        txn.batch_execute(migration).await.map_err(|e| failed(&format!("migrating from version {from}"), e))?;
    }
    txn.execute("DELETE FROM schema_version", &[]).await.map_err(|e| failed("writing the version", e))?;
    txn.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&SCHEMA_VERSION])
        .await
        .map_err(|e| failed("writing the version", e))?;
    txn.commit().await.map_err(|e| failed("commit", e))?;
    tracing::info!(schema, from = found, to = SCHEMA_VERSION, "migrated the PostgreSQL schema");
    Ok(())
}

/// Refuses versions newer than [`SCHEMA_VERSION`].
fn check_version(found: i32) -> std::result::Result<(), SchemaTooNew> {
    if found > SCHEMA_VERSION { Err(SchemaTooNew { found, known: SCHEMA_VERSION }) } else { Ok(()) }
}

/// The schema version stored in the connection's schema (0 when none).
pub(crate) async fn stored_version(client: &impl GenericClient) -> Result<i32> {
    let row = client
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await
        .map_err(|e| from_pg("reading the schema version", &e))?;
    row.try_get(0).map_err(|e| from_pg("reading the schema version", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_up_to_ours_are_accepted_and_newer_ones_refused() {
        assert_eq!(check_version(0), Ok(()));
        assert_eq!(check_version(SCHEMA_VERSION), Ok(()));
        assert_eq!(
            check_version(SCHEMA_VERSION + 1),
            Err(SchemaTooNew { found: SCHEMA_VERSION + 1, known: SCHEMA_VERSION })
        );
    }
}
