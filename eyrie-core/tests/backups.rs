//! Backups and restores through the service and the job engine, over the
//! testkit's recording executor and in-memory bucket (the S3 side runs
//! against a real server in `eyrie-backup/tests/`). Each test is named after
//! the rule it holds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use eyrie_core::backups::keys::DeploymentPrefix;
use eyrie_core::executor::Progress;
use eyrie_core::jobs::RestoreOptions;
use eyrie_core::service::{BackupQuery, NewDeployment, NewGroup, NewProject, NewScope, NewUser};
use eyrie_core::storage::StoreExt;
use eyrie_core::{
    Actor, Backup, BackupId, BackupKind, BackupState, Deployment, DeploymentId, ErrorKind, GroupType, Job, JobAction,
    JobState, ScopeConfig,
};
use eyrie_testkit::fixtures::{BACKUP_BUCKET, BackupRig, Tenant, backup_rig, typical_tenant};
use eyrie_testkit::{MemoryStore, Op};

struct Rig {
    t: Tenant,
    r: BackupRig,
}

async fn rig() -> Rig {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let r = backup_rig(&t).await.unwrap();
    Rig { t, r }
}

impl Rig {
    async fn run(&self, d: DeploymentId, action: JobAction) -> Job {
        let job = self.r.engine.submit(self.t.owner, d, action, BTreeMap::new()).await.unwrap();
        self.finish(job).await
    }

    async fn finish(&self, job: Job) -> Job {
        self.r.engine.run_until_idle().await.unwrap();
        self.r.engine.get_job(self.t.owner, job.id).await.unwrap()
    }

    async fn deployed(&self, d: DeploymentId) {
        assert_eq!(self.run(d, JobAction::Initialize).await.state, JobState::Done);
        assert_eq!(self.run(d, JobAction::Deploy).await.state, JobState::Done);
    }

    async fn backup(&self, id: BackupId) -> Backup {
        self.t.store.fetch::<Backup>(id.0).await.unwrap().value
    }

    /// Takes a backup of `d` and returns its record once the job ended.
    async fn take(&self, d: DeploymentId) -> (Job, Backup) {
        let job = self.r.engine.backup_now(self.t.developer, d).await.unwrap();
        let job = self.finish(job).await;
        let id = BackupId(job.parameters["backup"].parse().unwrap());
        (job, self.backup(id).await)
    }

    async fn prefix(&self, d: DeploymentId) -> String {
        let d = self.t.store.fetch::<Deployment>(d.0).await.unwrap().value;
        format!("{}/", DeploymentPrefix::new(d.namespace_uid, d.id))
    }

    async fn dump(&self) -> Vec<eyrie_core::storage::Stored> {
        self.t.store.dump().await.unwrap()
    }

    fn now(&self) -> eyrie_core::Timestamp {
        eyrie_core::Clock::now(&*self.t.clock)
    }
}

/// A scope of `group` with `config`, and one draft deployment in it.
async fn scope_with_deployment(g: &Rig, group: eyrie_core::GroupId, code: &str, config: ScopeConfig) -> Deployment {
    let t = &g.t;
    let scope = NewScope::new(code.parse().unwrap(), code.parse().unwrap()).with_config(config);
    let scope = t.eyrie.create_scope(t.owner, group, scope).await.unwrap();
    let d = NewDeployment::new(format!("{code} db").parse().unwrap(), scope.id);
    t.eyrie.create_deployment(t.owner, group, d).await.unwrap()
}

/// A new group of `group_type` in `project`, with one scope with `config`
/// and one deployment in `deploy`.
async fn new_group(g: &Rig, project: eyrie_core::ProjectId, group_type: GroupType, config: ScopeConfig) -> Deployment {
    let t = &g.t;
    let group = NewGroup::new(format!("{group_type} group").parse().unwrap(), group_type, [t.clusters[0].id].into());
    let group = t.eyrie.create_group(t.owner, project, group).await.unwrap();
    let d = scope_with_deployment(g, group.id, "main", config).await;
    g.deployed(d.id).await;
    d
}

/// A group of `group_type` in the tenant's project whose scope sends
/// backups to the rig's datasource, with one deployment in `deploy`.
async fn other_type(g: &Rig, group_type: GroupType) -> Deployment {
    let config = ScopeConfig::default().with_backup_dest_datasource(g.r.datasource.id);
    new_group(g, g.t.project.id, group_type, config).await
}

/// Sets the dev scope's retention to `policy`, with its pause and drop
/// timers off (tests that move the clock by days keep sandbox running).
async fn retain(g: &Rig, policy: eyrie_core::backups::retention::RetentionPolicy) {
    let config = eyrie_core::model::ScopeConfigPatch::default()
        .with_backup_retention(policy)
        .with_deployment_pause_after_seconds(None)
        .with_deployment_drop_after_seconds(None);
    let patch = eyrie_core::service::ScopePatch::default().with_config(config);
    g.t.eyrie.update_scope(g.t.owner, g.t.dev.id, patch).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn backup_now_runs_through_the_engine_and_records_what_the_bucket_holds() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let (job, b) = g.take(d).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.error);
    assert_eq!((b.kind, b.state), (BackupKind::Manual, BackupState::Done));
    let prefix = g.prefix(d).await;
    let own = format!("{prefix}{:016x}/", b.id.0);
    assert_eq!(b.location.as_deref(), Some(own.as_str()));
    assert_eq!(b.object_keys, vec![format!("{own}db.dump")]);
    let stored = g.r.objects.get(BACKUP_BUCKET, &b.object_keys[0]).unwrap();
    assert_eq!(b.size_bytes, Some(stored.len() as u64));
    assert_eq!(b.checksum.as_deref(), Some(format!("len:{}", stored.len()).as_str()));
    assert!(b.ended_at.is_some() && b.ended_at >= Some(b.started_at));
    assert_eq!(
        (b.datasource_id, b.scope_id, b.group_type),
        (Some(g.r.datasource.id), Some(g.t.dev.id), Some(GroupType::Odoo))
    );
    assert_eq!(g.r.executor.calls_of(Op::Backup).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_backup_still_running_on_the_cluster_is_polled_until_it_finishes() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    g.r.executor.answer_next(Op::Backup, Progress::Running("pod pending".into()));
    g.r.executor.answer_next(Op::Backup, Progress::Running("dumping".into()));
    let (job, b) = g.take(d).await;
    assert_eq!(job.state, JobState::Done);
    assert_eq!(b.state, BackupState::Done);
    assert_eq!(g.r.executor.calls_of(Op::Backup).len(), 3, "two polls, then the finished answer");
}

#[tokio::test(start_paused = true)]
async fn a_missing_or_empty_backup_object_fails_the_job_and_leaves_no_done_record() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let prefix = g.prefix(d).await;

    // The executor says it finished, but wrote nothing.
    g.r.executor.answer_next(Op::Backup, Progress::Succeeded { location: format!("{prefix}nothing/") });
    let (job, b) = g.take(d).await;
    assert_eq!(job.state, JobState::Error);
    assert!(job.error.as_deref().unwrap().contains("no backup object found"), "{:?}", job.error);
    assert_eq!(b.state, BackupState::Error);
    assert_eq!(b.error, job.error, "the backup says why");

    // An empty object.
    g.r.objects.put(BACKUP_BUCKET, &format!("{prefix}empty/db.dump"), Vec::new());
    g.r.executor.answer_next(Op::Backup, Progress::Succeeded { location: format!("{prefix}empty/") });
    let (job, b) = g.take(d).await;
    assert_eq!((job.state, b.state), (JobState::Error, BackupState::Error));
    assert!(b.error.as_deref().unwrap().contains("is empty"), "{:?}", b.error);

    // A location outside the deployment's prefix is not looked at.
    g.r.objects.put(BACKUP_BUCKET, "elsewhere/db.dump", b"other tenant".to_vec());
    g.r.executor.answer_next(Op::Backup, Progress::Succeeded { location: "elsewhere/".into() });
    let (_, b) = g.take(d).await;
    assert_eq!(b.state, BackupState::Error);
    assert!(b.error.as_deref().unwrap().contains("outside the deployment's prefix"), "{:?}", b.error);
}

#[tokio::test(start_paused = true)]
async fn a_backup_the_cluster_reports_failed_fails_with_the_clusters_reason() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    g.r.executor.answer_next(
        Op::Backup,
        Progress::Failed("pod backup-1: Error: exit code 1: pg_dump: connection refused".into()),
    );
    let (job, b) = g.take(d).await;
    assert_eq!((job.state, b.state), (JobState::Error, BackupState::Error));
    assert!(b.error.as_deref().unwrap().contains("pg_dump: connection refused"), "{:?}", b.error);
}

#[tokio::test(start_paused = true)]
async fn backup_now_needs_developer_a_destination_a_running_deployment_and_a_type_with_data() {
    let g = rig().await;
    let d = g.t.shop.id;
    g.deployed(d).await;
    let e = g.r.engine.backup_now(g.t.viewer, d).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "a user may read backups, not take them: {e}");
    let e = g.r.engine.backup_now(g.t.developer, g.t.preview.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "preview is a draft: {e}");

    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let engine = eyrie_testkit::fixtures::recording_engine(&t);
    let e = engine.submit(t.owner, t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await;
    e.unwrap();
    engine.run_until_idle().await.unwrap();
    engine.submit(t.owner, t.sandbox.id, JobAction::Deploy, BTreeMap::new()).await.unwrap();
    engine.run_until_idle().await.unwrap();
    let e = engine.backup_now(t.developer, t.sandbox.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("no backup_dest_datasource"), "{e}");

    let none = other_type(&g, GroupType::None).await;
    let before = g.dump().await;
    let e = g.r.engine.backup_now(g.t.owner, none.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("group type none"), "{e}");
    assert_eq!(g.dump().await, before, "a refused backup changes nothing");
}

#[tokio::test(start_paused = true)]
async fn a_restore_takes_a_pre_restore_backup_of_its_target_first() {
    let g = rig().await;
    let (from, into) = (g.t.sandbox.id, g.t.preview.id);
    g.deployed(from).await;
    g.deployed(into).await;
    let (_, source) = g.take(from).await;
    let job = g.r.engine.restore(g.t.developer, source.id, into, RestoreOptions::default()).await.unwrap();
    let job = g.finish(job).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.error);
    assert_eq!(job.steps.iter().map(|s| s.spec.name.as_str()).collect::<Vec<_>>(), ["pre-restore-backup", "restore"]);
    let safety = g.backup(BackupId(job.parameters["pre_restore_backup"].parse().unwrap())).await;
    assert_eq!((safety.kind, safety.state, safety.deployment_id), (BackupKind::PreRestore, BackupState::Done, into));
    let restored = g.r.executor.restored();
    assert_eq!(restored.len(), 1);
    assert_eq!((restored[0].into, restored[0].backup), (into, source.id));
    assert_eq!(Some(restored[0].location.clone()), source.location);
    let backups_of = |d| g.r.executor.calls_of(Op::Backup).into_iter().filter(|c| c.deployment == d).count();
    assert_eq!(backups_of(into), 1, "the safety backup was taken of the target");
}

#[tokio::test(start_paused = true)]
async fn a_restore_can_skip_the_safety_backup() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let (_, source) = g.take(d).await;
    let options = RestoreOptions::default().with_pre_restore(false);
    let job = g.finish(g.r.engine.restore(g.t.developer, source.id, d, options).await.unwrap()).await;
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.steps.iter().map(|s| s.spec.name.as_str()).collect::<Vec<_>>(), ["restore"]);
    assert!(!job.parameters.contains_key("pre_restore_backup"));
    assert_eq!(g.r.executor.calls_of(Op::Backup).len(), 1, "only the source backup");
}

#[tokio::test(start_paused = true)]
async fn a_restore_is_refused_for_a_backup_not_done_another_group_type_or_another_project_and_changes_nothing() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    g.r.executor.answer_next(Op::Backup, Progress::Failed("disk full".into()));
    let (_, failed) = g.take(d).await;
    let (_, good) = g.take(d).await;
    let before = g.dump().await;
    let restore = |b: BackupId, into| g.r.engine.restore(g.t.owner, b, into, RestoreOptions::default());

    let e = restore(failed.id, d).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("only done backups"), "{e}");
    assert_eq!(g.dump().await, before);

    let pgo = other_type(&g, GroupType::Pgo).await;
    let before_pgo = g.dump().await;
    let e = restore(good.id, pgo.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("same group type"), "{e}");
    assert_eq!(g.dump().await, before_pgo);

    // The owner also owns another project: its deployment is not a target.
    let t = &g.t;
    let other = t.eyrie.create_project(t.owner, NewProject::new("Other".parse().unwrap())).await.unwrap();
    let theirs = new_group(&g, other.id, GroupType::Odoo, ScopeConfig::default()).await;
    let before_other = g.dump().await;
    let e = restore(good.id, theirs.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "a backup is restored only within its project: {e}");
    assert_eq!(g.dump().await, before_other);
    assert!(g.r.executor.restored().is_empty());
}

#[tokio::test(start_paused = true)]
async fn reads_of_backups_reveal_nothing_to_strangers() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let (_, b) = g.take(d).await;
    let zoe = NewUser::new("Zoe".parse().unwrap(), "zoe@zulu.example".parse().unwrap());
    let zoe = g.t.eyrie.actor(g.t.eyrie.register_user(Actor::System, zoe).await.unwrap().id).await.unwrap();
    let missing = BackupId(0x0dd0dd);
    let shape = |e: eyrie_core::Error, id: BackupId| (e.kind(), e.to_string().replace(&id.to_string(), "<id>"));
    let seen = shape(g.r.eyrie.get_backup(zoe, b.id).await.unwrap_err(), b.id);
    let unseen = shape(g.r.eyrie.get_backup(zoe, missing).await.unwrap_err(), missing);
    assert_eq!(seen, unseen, "an existing backup is answered like a missing one");
    assert_eq!(seen.0, ErrorKind::NotFound);
    let seen = shape(g.r.eyrie.download_urls(zoe, b.id, None).await.unwrap_err(), b.id);
    assert_eq!(seen, shape(g.r.eyrie.download_urls(zoe, missing, None).await.unwrap_err(), missing));
    let e = g.r.engine.restore(zoe, b.id, d, RestoreOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = g.r.eyrie.list_backups(zoe, d, BackupQuery::first(10)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn download_urls_need_developer_are_audited_and_name_only_the_backups_own_objects() {
    let g = rig().await;
    let d = g.t.shop.id;
    g.deployed(d).await;
    let (_, b) = g.take(d).await;
    let e = g.r.eyrie.download_urls(g.t.viewer, b.id, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "a user may list backups, not download them: {e}");
    assert_eq!(g.r.eyrie.get_backup(g.t.viewer, b.id).await.unwrap().id, b.id, "but may read the record");
    for bad in [Duration::ZERO, Duration::from_secs(24 * 3600 + 1)] {
        let e = g.r.eyrie.download_urls(g.t.developer, b.id, Some(bad)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{bad:?}");
    }
    let links = g.r.eyrie.download_urls(g.t.developer, b.id, None).await.unwrap();
    assert_eq!(links.iter().map(|l| l.key.clone()).collect::<Vec<_>>(), b.object_keys);
    assert!(links[0].url.contains("ttl=900"), "15 minutes by default: {}", links[0].url);
    assert!(!format!("{:?}", links[0]).contains("signature=fake"), "Debug hides the signature");
    let audit = g.t.eyrie.list_audit(g.t.owner, g.t.project.id).await.unwrap();
    let issued: Vec<_> = audit.iter().filter(|e| e.action == "backup.download").collect();
    assert_eq!(issued.len(), 1, "issuing URLs is an audit event");
    assert_eq!(issued[0].target, b.id.to_string());
}

#[tokio::test(start_paused = true)]
async fn backups_are_listed_newest_first_per_deployment_and_per_scope() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        g.t.clock.advance_seconds(60);
        ids.push(g.take(d).await.1.id);
    }
    ids.reverse();
    let first = g.t.eyrie.list_backups(g.t.viewer, d, BackupQuery::first(3)).await.unwrap();
    let rest = g.t.eyrie.list_backups(g.t.viewer, d, BackupQuery::after(first.next.unwrap(), 3)).await.unwrap();
    let listed: Vec<_> = first.backups.iter().chain(&rest.backups).map(|b| b.id).collect();
    assert_eq!(listed, ids);
    assert_eq!(rest.next, None);
    let scope = g.t.eyrie.list_scope_backups(g.t.viewer, g.t.dev.id, BackupQuery::first(10)).await.unwrap();
    assert_eq!(scope.backups.iter().map(|b| b.id).collect::<Vec<_>>(), ids);
    let prod = g.t.eyrie.list_scope_backups(g.t.viewer, g.t.prod.id, BackupQuery::first(10)).await.unwrap();
    assert!(prod.backups.is_empty());
    let e = g.t.eyrie.list_backups(g.t.viewer, d, BackupQuery::first(0)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
}

async fn seeded_scope(g: &Rig) {
    let config = eyrie_core::model::ScopeConfigPatch::default().with_restore_from_scope(Some(g.t.dev.id));
    let patch = eyrie_core::service::ScopePatch::default().with_config(config);
    g.t.eyrie.update_scope(g.t.owner, g.t.prod.id, patch).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_deployment_initialized_in_a_scope_with_restore_from_scope_is_seeded_with_its_newest_done_backup() {
    let g = rig().await;
    seeded_scope(&g).await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let (_, older) = g.take(d).await;
    g.t.clock.advance_seconds(60);
    let (_, newest) = g.take(d).await;
    g.t.clock.advance_seconds(60);
    g.r.executor.answer_next(Op::Backup, Progress::Failed("broken".into()));
    let (_, failed) = g.take(d).await;
    assert_eq!((older.state, newest.state, failed.state), (BackupState::Done, BackupState::Done, BackupState::Error));

    let job = g.run(g.t.shop.id, JobAction::Initialize).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.error);
    assert_eq!(job.parameters["source"], newest.id.0.to_string(), "the newest done one, not the failed one");
    assert!(job.notes[0].contains("seeded from backup"), "{:?}", job.notes);
    let restored = g.r.executor.restored();
    assert_eq!(restored.len(), 1);
    assert_eq!((restored[0].into, restored[0].backup), (g.t.shop.id, newest.id));
}

#[tokio::test(start_paused = true)]
async fn with_no_done_backup_in_the_source_scope_initialization_goes_on_and_the_job_says_so() {
    let g = rig().await;
    seeded_scope(&g).await;
    let job = g.run(g.t.shop.id, JobAction::Initialize).await;
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.steps.iter().map(|s| s.spec.name.as_str()).collect::<Vec<_>>(), ["namespace"]);
    assert!(job.notes[0].contains("no done backup: starting empty"), "{:?}", job.notes);
    assert!(g.r.executor.restored().is_empty());
}

#[tokio::test(start_paused = true)]
async fn retention_deletes_the_objects_then_marks_expired_and_never_expires_the_newest_done_backup() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    retain(&g, eyrie_core::backups::retention::RetentionPolicy::new(2, 0, 0, 3 * 86_400)).await;

    // Four daily backups, one a day, then two manual ones.
    let mut daily = Vec::new();
    for _ in 0..4 {
        let params = BTreeMap::from([("schedule".to_owned(), "daily".to_owned())]);
        let job = g.r.engine.submit(eyrie_core::Actor::System, d, JobAction::Backup, params).await.unwrap();
        let job = g.finish(job).await;
        daily.push(g.backup(BackupId(job.parameters["backup"].parse().unwrap())).await);
        g.t.clock.advance_seconds(86_400);
    }
    assert!(daily.iter().all(|b| b.kind == BackupKind::DailyTriggered && b.state == BackupState::Done));
    let report = g.r.engine.tick(g.now()).await.unwrap();
    assert_eq!(report.backups_expired, 2, "{report:?}");
    for (b, expired) in daily.iter().zip([true, true, false, false]) {
        let now = g.backup(b.id).await;
        assert_eq!(now.state == BackupState::Expired, expired, "{:?}", now);
        assert_eq!(g.r.objects.get(BACKUP_BUCKET, &b.object_keys[0]).is_none(), expired, "objects go with the record");
    }
    assert_eq!(g.r.engine.tick(g.now()).await.unwrap().backups_expired, 0, "a second tick does nothing");

    // Manual backups live three days here; the newest done one is kept anyway.
    let (_, manual) = g.take(d).await;
    g.t.clock.advance_seconds(4 * 86_400);
    let r = g.r.engine.tick(g.now()).await.unwrap();
    assert_eq!(r.backups_expired, 0, "the manual backup is the newest done one: {r:?}");
    let (_, newer) = g.take(d).await;
    g.t.clock.advance_seconds(60);
    let r = g.r.engine.tick(g.now()).await.unwrap();
    assert_eq!(g.backup(manual.id).await.state, BackupState::Expired, "{r:?}");
    assert_eq!(g.backup(newer.id).await.state, BackupState::Done);
}

#[tokio::test(start_paused = true)]
async fn a_datasource_that_backups_still_reference_cannot_be_deleted() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let ds = g.r.datasource.id;
    let e = g.t.eyrie.delete_datasource(g.t.admin, ds).await.unwrap_err();
    assert!(e.to_string().contains("backup destination of scope"), "{e}");
    g.take(d).await;
    for scope in [&g.t.prod, &g.t.stage, &g.t.dev] {
        let config = eyrie_core::model::ScopeConfigPatch::default().with_backup_dest_datasource(None);
        let patch = eyrie_core::service::ScopePatch::default().with_config(config);
        g.t.eyrie.update_scope(g.t.owner, scope.id, patch).await.unwrap();
    }
    let before = g.dump().await;
    let e = g.t.eyrie.delete_datasource(g.t.admin, ds).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("still holds 1 backup"), "{e}");
    assert_eq!(g.dump().await, before);
    let e = g.t.eyrie.delete_datasource(g.t.developer, ds).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test(start_paused = true)]
async fn an_executor_that_cannot_restore_across_deployments_seeds_nothing_and_refuses_such_restores_up_front() {
    let g = rig().await;
    g.r.executor.refuse_cross_restore(GroupType::Pgo);
    let db = other_type(&g, GroupType::Pgo).await;
    let (_, b) = g.take(db.id).await;
    assert_eq!(b.state, BackupState::Done);
    let config = ScopeConfig::default().with_restore_from_scope(db.scope_id);
    let copy = scope_with_deployment(&g, db.group_id, "copy", config).await;
    let job = g.run(copy.id, JobAction::Initialize).await;
    assert_eq!(job.state, JobState::Done);
    assert!(job.notes[0].contains("cannot seed a pgo deployment"), "{:?}", job.notes);
    assert_eq!(job.steps.iter().map(|s| s.spec.name.as_str()).collect::<Vec<_>>(), ["namespace"]);

    assert_eq!(g.run(copy.id, JobAction::Deploy).await.state, JobState::Done);
    let before = g.dump().await;
    let e = g.r.engine.restore(g.t.owner, b.id, copy.id, RestoreOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("cannot restore a pgo deployment from another deployment's backup"), "{e}");
    assert_eq!(g.dump().await, before);
    // Its own backup it restores.
    let job = g.r.engine.restore(g.t.owner, b.id, db.id, RestoreOptions::default()).await.unwrap();
    assert_eq!(g.finish(job).await.state, JobState::Done);
    assert_eq!(g.r.executor.restored().iter().map(|r| r.into).collect::<Vec<_>>(), [db.id]);
}

#[tokio::test(start_paused = true)]
async fn retention_deletes_below_a_backups_own_prefix_and_leaves_a_shared_repository_alone() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    retain(&g, eyrie_core::backups::retention::RetentionPolicy::new(7, 4, 3, 86_400)).await;
    let prefix = g.prefix(d).await;
    // The next two backups get ids we cannot know in advance: script the
    // executor to report a shared repository for the first, and let the
    // second write below its own prefix (as the Percona operator does).
    let shared = format!("{prefix}pgbackrest/");
    g.r.objects.put(BACKUP_BUCKET, &format!("{shared}backup.info"), b"repo".to_vec());
    g.r.executor.answer_next(Op::Backup, Progress::Succeeded { location: shared.clone() });
    let (_, in_repo) = g.take(d).await;
    let job = g.r.engine.backup_now(g.t.developer, d).await.unwrap();
    let id: u64 = job.parameters["backup"].parse().unwrap();
    let below = format!("{prefix}{id:016x}/cluster-2026-full/");
    g.r.objects.put(BACKUP_BUCKET, &format!("{below}xtrabackup.stream"), b"data".to_vec());
    g.r.executor.answer_next(Op::Backup, Progress::Succeeded { location: below.clone() });
    let folder = g.backup(g.finish(job).await.parameters["backup"].parse().map(BackupId).unwrap()).await;
    assert_eq!((in_repo.state, folder.state), (BackupState::Done, BackupState::Done));
    g.t.clock.advance_seconds(60);
    let (_, newest) = g.take(d).await;
    g.t.clock.advance_seconds(2 * 86_400);
    g.r.engine.tick(g.now()).await.unwrap();
    for b in [&in_repo, &folder] {
        assert_eq!(g.backup(b.id).await.state, BackupState::Expired, "manual backups older than a day");
    }
    assert_eq!(g.backup(newest.id).await.state, BackupState::Done);
    assert!(
        g.r.objects.get(BACKUP_BUCKET, &format!("{below}xtrabackup.stream")).is_none(),
        "below its own prefix: deleted"
    );
    assert!(
        g.r.objects.get(BACKUP_BUCKET, &format!("{shared}backup.info")).is_some(),
        "a shared repository is left alone"
    );
}

#[tokio::test(start_paused = true)]
async fn a_restore_whose_backup_expired_before_it_ran_never_reaches_the_cluster() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let (_, b) = g.take(d).await;
    let options = RestoreOptions::default().with_pre_restore(false);
    let job = g.r.engine.restore(g.t.developer, b.id, d, options).await.unwrap();
    // Retention expires the backup between the submit and the run.
    let read = g.t.store.fetch::<Backup>(b.id.0).await.unwrap();
    let mut expired = read.value.clone();
    expired.state = BackupState::Expired;
    g.t.store.commit(eyrie_core::storage::Transaction::new().update(&read, expired)).await.unwrap();
    let job = g.finish(job).await;
    assert_eq!(job.state, JobState::Error);
    assert!(job.error.as_deref().unwrap().contains("can no longer be restored"), "{:?}", job.error);
    assert!(g.r.executor.calls_of(Op::Restore).is_empty(), "the executor was never asked");
}

#[tokio::test(start_paused = true)]
async fn job_parameters_cannot_name_a_backup_the_engine_did_not_choose() {
    let g = rig().await;
    let d = g.t.sandbox.id;
    g.deployed(d).await;
    let (_, theirs) = g.take(d).await;
    g.deployed(g.t.preview.id).await;
    let before = g.dump().await;
    let id = theirs.id.0.to_string();
    // Without the refusal, `source` on an initialize would restore any backup
    // into the deployment, and `pre_restore_backup` would point a backup step
    // at any running record.
    let attempts = [
        (JobAction::Initialize, "source"),
        (JobAction::Backup, "backup"),
        (JobAction::Restore, "pre_restore_backup"),
        (JobAction::Deploy, "backup"),
        (JobAction::Backup, "schedule"),
    ];
    for (action, name) in attempts {
        let params = BTreeMap::from([(name.to_owned(), id.clone()), ("pre_restore".to_owned(), "false".to_owned())]);
        let e = g.r.engine.submit(g.t.owner, g.t.shop.id, action, params).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{action} with {name}: {e}");
        assert!(e.to_string().contains("set by the engine"), "{e}");
    }
    assert_eq!(g.dump().await, before, "nothing was created");
    assert!(g.r.executor.restored().is_empty());
}
