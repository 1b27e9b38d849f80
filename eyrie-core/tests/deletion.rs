//! SPEC §9: deleting a project leaves nothing behind but its audit events.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use eyrie_core::service::ScopePatch;
use eyrie_core::storage::{Record, Store};
use eyrie_core::{JobAction, MonitorState, Role, ScheduleKind};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::typical_tenant;

/// Every number a JSON value holds under a key that names a record.
fn referenced_ids(value: &serde_json::Value, key: &str, out: &mut BTreeSet<u64>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                referenced_ids(v, k, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| referenced_ids(v, key, out)),
        serde_json::Value::Number(n)
            if key.ends_with("_id") || key.ends_with("_ids") || key.ends_with("_uid") || key == "favourite_groups" =>
        {
            out.extend(n.as_u64());
        }
        _ => {}
    }
}

#[tokio::test(start_paused = true)]
async fn delete_project_leaves_nothing_but_audit_events() {
    let store = Arc::new(MemoryStore::new());
    let t = typical_tenant(store.clone()).await.unwrap();
    let rig = eyrie_testkit::fixtures::backup_rig(&t).await.unwrap();
    let engine = rig.engine.clone();
    // A life: jobs (a backup among them, with its record), a schedule, monitor
    // logs, a pending invitation, overrides, favourites, domain claims.
    for action in [JobAction::Initialize, JobAction::Deploy, JobAction::Backup] {
        engine.submit(t.owner, t.sandbox.id, action, BTreeMap::new()).await.unwrap();
        engine.run_until_idle().await.unwrap();
    }
    let backups = t.eyrie.list_backups(t.owner, t.sandbox.id, eyrie_core::service::BackupQuery::first(10)).await;
    assert_eq!(backups.unwrap().backups.len(), 1, "the life includes a backup record");
    t.eyrie.set_backup_schedule(t.owner, t.sandbox.id, ScheduleKind::DailyTriggered).await.unwrap();
    let monitor = t.store.list(eyrie_core::storage::Index::DeploymentMonitors(t.shop.id)).await.unwrap();
    let monitor = eyrie_core::MonitorId(monitor[0].record.key().id);
    t.eyrie.record_monitor_log(t.admin, monitor, MonitorState::Ok, Some(3), "ok").await.unwrap();
    t.eyrie.invite(t.admin, t.project.id, "later@else.example".parse().unwrap(), Role::User).await.unwrap();

    for scope in [&t.prod, &t.stage] {
        let mut config = scope.config();
        config.allow_drop = true;
        let patch = ScopePatch::default().with_config(config.into());
        t.eyrie.update_scope(t.owner, scope.id, patch).await.unwrap();
    }
    for d in [t.shop.id, t.preview.id, t.sandbox.id] {
        engine.submit(t.owner, d, JobAction::Drop, BTreeMap::new()).await.unwrap();
        engine.run_until_idle().await.unwrap();
    }

    let before = store.dump().await.unwrap();
    let mut owned = BTreeSet::from([t.project.id.0, t.project.namespace_uid.0]);
    for s in &before {
        let json = serde_json::to_value(&s.record).unwrap();
        let mut ids = BTreeSet::new();
        referenced_ids(&json, "", &mut ids);
        if ids.contains(&t.project.id.0) {
            owned.insert(s.record.key().id);
        }
    }
    let bucket = eyrie_testkit::fixtures::BACKUP_BUCKET;
    assert_eq!(rig.objects.keys(bucket).len(), 1, "the backup's dump is in the bucket");
    let e = t.eyrie.delete_project(t.owner, t.project.id).await.unwrap_err();
    assert!(e.to_string().contains("no bucket client"), "a service that cannot delete the objects refuses: {e}");
    assert_eq!(store.dump().await.unwrap(), before, "and deletes nothing");
    rig.eyrie.delete_project(t.owner, t.project.id).await.unwrap();
    assert!(rig.objects.keys(bucket).is_empty(), "the backups' objects went with the project");

    let mut left = Vec::new();
    for s in store.dump().await.unwrap() {
        if matches!(s.record, Record::Audit(_)) {
            continue;
        }
        let mut ids = BTreeSet::new();
        referenced_ids(&serde_json::to_value(&s.record).unwrap(), "", &mut ids);
        if owned.contains(&s.record.key().id) || !ids.is_disjoint(&owned) {
            left.push(format!("{}: {:?}", s.record.key(), s.record));
        }
    }
    assert!(left.is_empty(), "records of the deleted project are left:\n{}", left.join("\n"));
    assert!(owned.len() > 30, "the life above made many records ({})", owned.len());
    assert!(store.verify().await.unwrap().is_empty());
}
