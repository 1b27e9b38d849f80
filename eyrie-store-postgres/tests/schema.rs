//! The SQL side: the schema is created, migrated once by concurrent
//! openers, refused when newer; records are queryable with SQL and keep
//! their exact envelope; damage is reported per record; schemas are
//! isolated.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use eyrie_core::storage::{Entity, Store, StoreExt, Transaction, kit::codec};
use eyrie_core::{ErrorKind, Project, Slug, UserId};
use eyrie_store_postgres::{PostgresStore, SCHEMA_VERSION};

fn project(id: u64, slug: &str) -> Project {
    let mut p = eyrie_testkit::builders::project(id, UserId(1));
    p.slug = Slug::from_name(slug);
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_create_the_schema_once_and_reopening_keeps_it() {
    let Some(url) = common::server_url("concurrent_opens_create_the_schema_once") else { return };
    let schema = common::fresh_schema("open");
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let (url, schema) = (url.clone(), schema.clone());
            tokio::spawn(async move { PostgresStore::open(common::config(&url, &schema)).await })
        })
        .collect();
    for open in opens {
        let store = open.await.unwrap().expect("every concurrent open succeeds");
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    }
    let store = common::open(&url, &schema).await;
    store.commit(Transaction::new().create(project(1, "a"))).await.unwrap();
    drop(store);
    let store = common::open(&url, &schema).await;
    assert_eq!(store.fetch::<Project>(1).await.unwrap().value.slug.to_string(), "a", "reopening keeps the data");
    let client = common::connect(&url).await;
    let rows = client.query(&format!("SELECT version FROM \"{schema}\".schema_version"), &[]).await.unwrap();
    assert_eq!(rows.len(), 1, "one version row, written once");
    common::drop_schemas(&url, &[schema]).await;
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_alone() {
    let Some(url) = common::server_url("a_newer_schema_is_refused_and_left_alone") else { return };
    let schema = common::fresh_schema("newer");
    drop(common::open(&url, &schema).await);
    let client = common::connect(&url).await;
    client.batch_execute(&format!("UPDATE \"{schema}\".schema_version SET version = 99")).await.unwrap();
    let e = PostgresStore::open(common::config(&url, &schema)).await.unwrap_err();
    assert_eq!((e.kind(), e.is_retryable()), (ErrorKind::Backend, false), "{e}");
    assert!(e.to_string().contains("version 99"), "{e}");
    let row = client.query_one(&format!("SELECT version FROM \"{schema}\".schema_version"), &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 99, "refusing changes nothing");
    common::drop_schemas(&url, &[schema]).await;
}

#[tokio::test]
async fn records_are_queryable_with_sql_and_keep_their_exact_envelope() {
    let Some(url) = common::server_url("records_are_queryable_with_sql") else { return };
    let schema = common::fresh_schema("sql");
    let store = common::open(&url, &schema).await;
    let big_id = (1u64 << 63) + 7; // beyond i64: ids are numeric(20)
    store.commit(Transaction::new().create(project(big_id, "acme"))).await.unwrap();
    let read = store.fetch::<Project>(big_id).await.unwrap();
    let mut renamed = read.value.clone();
    renamed.slug = Slug::from_name("acme-two");
    store.commit(Transaction::new().update(&read, renamed.clone())).await.unwrap();

    let client = common::connect(&url).await;
    let row = client
        .query_one(
            &format!(
                "SELECT kind, id::text, revision, format, body ->> 'slug', envelope
                 FROM \"{schema}\".records"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "project");
    assert_eq!(row.get::<_, String>(1), big_id.to_string());
    assert_eq!(row.get::<_, i64>(2), 2);
    assert_eq!(row.get::<_, i16>(3), i16::from(codec::FORMAT_VERSION));
    assert_eq!(row.get::<_, String>(4), "acme-two", "the body is jsonb an operator can query");
    let record = renamed.into_record();
    let exact = codec::encode(&record, eyrie_core::storage::Revision(2)).unwrap();
    assert_eq!(row.get::<_, Vec<u8>>(5), exact, "the envelope is the codec's bytes, exactly");
    let unique = client.query(&format!("SELECT owner FROM \"{schema}\".unique_values"), &[]).await.unwrap();
    assert_eq!(unique.len(), 1, "the old slug was released");
    common::assert_consistent(&store).await;
    common::drop_schemas(&url, &[schema]).await;
}

#[tokio::test]
async fn a_damaged_record_is_reported_by_name_and_the_rest_stays_readable() {
    let Some(url) = common::server_url("a_damaged_record_is_reported") else { return };
    let schema = common::fresh_schema("damage");
    let store = common::open(&url, &schema).await;
    store.commit(Transaction::new().create(project(1, "one")).create(project(2, "two"))).await.unwrap();
    let key = project(1, "one").key();
    let client = common::connect(&url).await;
    client
        .execute(
            &format!("UPDATE \"{schema}\".records SET envelope = '\\x0700000000000000017b7d'::bytea WHERE key = $1"),
            &[&key.to_bytes().as_slice()],
        )
        .await
        .unwrap();
    let e = store.get(key).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.to_string().contains(&key.to_string()), "{e}");
    assert_eq!(store.fetch::<Project>(2).await.unwrap().value.slug.to_string(), "two");
    let problems = store.verify().await.unwrap();
    assert!(problems[0].contains(&key.to_string()) && problems[0].contains("format version 7"), "{problems:#?}");
    assert!(problems.iter().all(|p| !p.contains("0000000000000002")), "the healthy record is fine: {problems:#?}");
    common::drop_schemas(&url, &[schema]).await;
}

#[tokio::test]
async fn stores_in_different_schemas_do_not_see_each_other() {
    let Some(url) = common::server_url("stores_in_different_schemas") else { return };
    let (a, b) = (common::fresh_schema("iso"), common::fresh_schema("iso"));
    let (one, two) = (common::open(&url, &a).await, common::open(&url, &b).await);
    one.commit(Transaction::new().create(project(1, "same"))).await.unwrap();
    two.commit(Transaction::new().create(project(1, "same"))).await.expect("the same key and slug in another schema");
    assert_eq!(one.dump().await.unwrap().len(), 1);
    assert_eq!(two.dump().await.unwrap().len(), 1);
    common::drop_schemas(&url, &[a, b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_accepted_refused_and_raced_leave_no_commit_lock_behind() {
    let Some(url) = common::server_url("commits_leave_no_commit_lock_behind") else { return };
    let schema = common::fresh_schema("locks");
    // Its own application name, to find this store's connections among the other tests'.
    let name = format!("eyrie_locks_{}", &schema[schema.len() - 8..]);
    let named = format!("{url}{}application_name={name}", if url.contains('?') { '&' } else { '?' });
    // Concurrent first attempts: losers of serialization races re-run under the exclusive lock.
    let store = PostgresStore::open(common::config(&named, &schema).serial_commits(false)).await.unwrap();
    store.commit(Transaction::new().create(project(1, "one"))).await.unwrap();
    let refused = store.commit(Transaction::new().create(project(2, "one"))).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::AlreadyExists);
    // Racing creates of one slug.
    let racers: Vec<_> = (10..26)
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move { store.commit(Transaction::new().create(project(id, "contested"))).await })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}"),
        }
    }
    assert_eq!(won, 1, "one slug, one winner");
    let client = common::connect(&url).await;
    let sessions =
        client.query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&name]).await.unwrap();
    assert!(sessions.get::<_, i64>(0) > 0, "the store's pooled connections are still open");
    let held = client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
             AND pid IN (SELECT pid FROM pg_stat_activity WHERE application_name = $1)",
            &[&name],
        )
        .await
        .unwrap();
    assert_eq!(held.get::<_, i64>(0), 0, "no pooled connection kept the commit lock");
    common::assert_consistent(&store).await;
    common::drop_schemas(&url, &[schema]).await;
}
