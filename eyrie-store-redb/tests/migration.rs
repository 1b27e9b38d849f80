//! A store written by the previous release (`tests/data/v1.redb`: record
//! envelopes of format 1, no list counters) opens, reads upgraded records,
//! counts its lists once, and rewrites a record in the current format when
//! it is next written.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use eyrie_core::storage::kit::codec::FORMAT_VERSION;
use eyrie_core::storage::kit::kv::{KvRead, Table};
use eyrie_core::storage::{Backend, Entity, Index, Store, StoreExt, Transaction};
use eyrie_core::{Deployment, DeploymentGroup, Project};
use eyrie_store_redb::{LAYOUT_VERSION, PREVIOUS_LAYOUT_VERSION};
use redb::{ReadableDatabase, TableDefinition};

use common::{assert_consistent, db_path, open};

/// The layout version in the file's metadata, read with redb directly.
fn layout_version(path: &std::path::Path) -> u64 {
    let meta: TableDefinition<'static, &str, u64> = TableDefinition::new("eyrie_meta");
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    txn.open_table(meta).unwrap().get("layout_version").unwrap().unwrap().value()
}

fn raw_version(store: &eyrie_store_redb::RedbStore, key: eyrie_core::storage::RecordKey) -> u8 {
    let mut snapshot = futures::executor::block_on(store.backend().snapshot()).unwrap();
    snapshot.get(Table::Records, &key.to_bytes()).unwrap().unwrap()[0]
}

#[tokio::test]
async fn a_store_of_the_previous_format_is_upgraded_on_read_and_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1.redb");
    std::fs::copy(fixture, db_path(dir.path())).unwrap();
    assert_eq!(layout_version(&db_path(dir.path())), PREVIOUS_LAYOUT_VERSION, "the fixture is of the previous layout");
    let store = open(dir.path()).await;

    let project = store.fetch::<Project>(1).await.unwrap();
    assert_eq!(project.value.slug.as_str(), "acme");
    assert_eq!(raw_version(&store, project.value.key()), 1, "reading does not rewrite");
    let group = store.fetch::<DeploymentGroup>(2).await.unwrap();
    assert_eq!(store.children::<Deployment>(Index::GroupDeployments(group.value.id)).await.unwrap().len(), 2);
    assert_eq!(store.count(Index::GroupDeployments(group.value.id)).await.unwrap(), 2, "counted on open");
    assert_consistent(&store).await;

    let mut renamed = project.value.clone();
    renamed.name = "Acme Renamed".parse().unwrap();
    store.commit(Transaction::new().update(&project, renamed.clone())).await.unwrap();
    assert_eq!(raw_version(&store, renamed.key()), FORMAT_VERSION, "a write stores the current format");
    assert_eq!(store.fetch::<Project>(1).await.unwrap().value, renamed);
    assert_eq!(raw_version(&store, group.value.key()), 1, "untouched records keep theirs");
    assert_consistent(&store).await;
    store.close().await.unwrap();
    assert_eq!(layout_version(&db_path(dir.path())), LAYOUT_VERSION, "opening upgraded the layout");
}
