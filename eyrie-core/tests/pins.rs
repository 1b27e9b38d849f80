//! Every mutation pins what its decision rested on (SPEC §9). An
//! [`InterposingStore`] removes the actor's membership, or blocks the portal,
//! between a call's authorization and its commit; every mutating call must
//! then fail and leave the store exactly as the change left it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use eyrie_core::service::{
    DeploymentPatch, GroupPatch, NewBranch, NewDatasource, NewImage, NewRepository, ProjectPatch, ScopePatch,
};
use eyrie_core::storage::{Index, Store, StoreExt};
use eyrie_core::{
    Actor, DataType, DatasourceUsage, Engine, GroupType, JobAction, Monitor, MonitorState, OverrideTarget, Result,
    Role, ScheduleKind, UserId,
};
use eyrie_testkit::fixtures::{Tenant, backup_rig, new_deployment, new_scope, typical_tenant};
use eyrie_testkit::{Change, InterposingStore, MemoryStore};

struct Rig {
    t: Tenant,
    store: InterposingStore,
    engine: Engine,
    change: Change,
}

impl Rig {
    /// From here on, the next commit first applies the change.
    fn arm(&self) {
        self.store.arm(self.change.clone());
    }
}

fn uid(a: Actor) -> UserId {
    match a {
        Actor::User { id } => id,
        Actor::System => panic!("a user"),
    }
}

type ChangeOf = fn(&Tenant) -> Change;

type Op = for<'a> fn(&'a Rig) -> Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

async fn rig(change: fn(&Tenant) -> Change) -> Rig {
    let store = InterposingStore::new(Arc::new(MemoryStore::new()));
    let t = typical_tenant(Arc::new(store.clone())).await.unwrap();
    let engine = eyrie_testkit::fixtures::recording_engine(&t);
    let change = change(&t);
    Rig { t, store, engine, change }
}

async fn deployed(r: &Rig, engine: &Engine) -> Result<()> {
    for action in [JobAction::Initialize, JobAction::Deploy] {
        engine.submit(r.t.admin, r.t.sandbox.id, action, BTreeMap::new()).await?;
        engine.run_until_idle().await?;
    }
    Ok(())
}

async fn backed_up(r: &Rig, engine: &Engine) -> Result<eyrie_core::BackupId> {
    deployed(r, engine).await?;
    let job = engine.backup_now(r.t.admin, r.t.sandbox.id).await?;
    engine.run_until_idle().await?;
    Ok(eyrie_core::BackupId(job.parameters["backup"].parse().expect("a backup id")))
}

/// Runs `op` once per change and checks it changed nothing after the change.
async fn holds(name: &str, op: Op) {
    let changes: [(&str, ChangeOf); 2] = [
        ("membership removed", |t| Change::RemoveMember(t.project.id, uid(t.admin))),
        ("portal blocked", |t| Change::BlockPortal(t.project.id)),
    ];
    for (what, change) in changes {
        let r = rig(change).await;
        let result = op(&r).await;
        let after = r.store.after_change().unwrap_or_else(|| panic!("{name}: no commit came after the arm"));
        assert!(result.is_err(), "{name} committed although {what} before its commit");
        assert_eq!(r.store.dump().await.unwrap(), after, "{name} wrote something although {what}");
    }
}

macro_rules! op {
    (|$r:ident| $body:expr) => {{
        fn f<'a>($r: &'a Rig) -> Pin<Box<dyn Future<Output = Result<()>> + 'a>> {
            Box::pin(async move { $body })
        }
        f as Op
    }};
}

#[tokio::test]
async fn every_mutation_pins_what_its_decision_rested_on() {
    let ops: Vec<(&str, Op)> = vec![
        (
            "update_project",
            op!(|r| {
                r.arm();
                let patch = ProjectPatch::default().with_name("Renamed".parse()?);
                r.t.eyrie.update_project(r.t.admin, r.t.project.id, patch).await.map(drop)
            }),
        ),
        (
            "create_group",
            op!(|r| {
                r.arm();
                let g =
                    eyrie_core::service::NewGroup::new("Other".parse()?, GroupType::None, [r.t.clusters[0].id].into());
                r.t.eyrie.create_group(r.t.admin, r.t.project.id, g).await.map(drop)
            }),
        ),
        (
            "update_group",
            op!(|r| {
                r.arm();
                let patch = GroupPatch::default().with_name("Renamed".parse()?);
                r.t.eyrie.update_group(r.t.admin, r.t.group.id, patch).await.map(drop)
            }),
        ),
        (
            "create_scope",
            op!(|r| {
                r.arm();
                r.t.eyrie.create_scope(r.t.admin, r.t.group.id, new_scope("qa", Default::default())?).await.map(drop)
            }),
        ),
        (
            "update_scope",
            op!(|r| {
                r.arm();
                let patch = ScopePatch::default().with_name("Renamed".parse()?);
                r.t.eyrie.update_scope(r.t.admin, r.t.dev.id, patch).await.map(drop)
            }),
        ),
        (
            "delete_scope",
            op!(|r| {
                let qa = r.t.eyrie.create_scope(r.t.admin, r.t.group.id, new_scope("qa", Default::default())?).await?;
                r.arm();
                r.t.eyrie.delete_scope(r.t.admin, qa.id).await
            }),
        ),
        (
            "create_deployment",
            op!(|r| {
                r.arm();
                r.t.eyrie.create_deployment(r.t.admin, r.t.group.id, new_deployment("extra", &r.t.dev)?).await.map(drop)
            }),
        ),
        (
            "update_deployment",
            op!(|r| {
                r.arm();
                let patch = DeploymentPatch::default().with_name("Renamed".parse()?);
                r.t.eyrie.update_deployment(r.t.admin, r.t.sandbox.id, patch).await.map(drop)
            }),
        ),
        (
            "move_deployment",
            op!(|r| {
                r.arm();
                r.t.eyrie.move_deployment(r.t.admin, r.t.sandbox.id, r.t.stage.id).await.map(drop)
            }),
        ),
        (
            "set_backup_schedule",
            op!(|r| {
                r.arm();
                r.t.eyrie.set_backup_schedule(r.t.admin, r.t.sandbox.id, ScheduleKind::DailyTriggered).await.map(drop)
            }),
        ),
        (
            "record_monitor_log",
            op!(|r| {
                let monitors = r.t.store.children::<Monitor>(Index::DeploymentMonitors(r.t.shop.id)).await?;
                r.arm();
                r.t.eyrie
                    .record_monitor_log(r.t.admin, monitors[0].value.id, MonitorState::Ok, Some(12), "ok")
                    .await
                    .map(drop)
            }),
        ),
        (
            "create_monitor",
            op!(|r| {
                r.arm();
                let m = eyrie_core::service::NewMonitor::certificate();
                r.t.eyrie.create_monitor(r.t.admin, r.t.shop.id, m).await.map(drop)
            }),
        ),
        (
            "update_monitor",
            op!(|r| {
                let monitors = r.t.store.children::<Monitor>(Index::DeploymentMonitors(r.t.shop.id)).await?;
                r.arm();
                let patch = eyrie_core::service::MonitorPatch::default().with_interval_seconds(120);
                r.t.eyrie.update_monitor(r.t.admin, monitors[0].value.id, patch).await.map(drop)
            }),
        ),
        (
            "delete_monitor",
            op!(|r| {
                let monitors = r.t.store.children::<Monitor>(Index::DeploymentMonitors(r.t.shop.id)).await?;
                r.arm();
                r.t.eyrie.delete_monitor(r.t.admin, monitors[0].value.id).await
            }),
        ),
        (
            "record_check",
            op!(|r| {
                let monitors = r.t.store.children::<Monitor>(Index::DeploymentMonitors(r.t.shop.id)).await?;
                r.arm();
                let outcome = eyrie_core::CheckOutcome::new(MonitorState::Ok, Some(12), "ok");
                r.t.eyrie.record_check(r.t.admin, monitors[0].value.id, outcome).await.map(drop)
            }),
        ),
        (
            "create_repository",
            op!(|r| {
                r.arm();
                r.t.eyrie.create_repository(r.t.admin, repository(r)?).await.map(drop)
            }),
        ),
        (
            "create_branch",
            op!(|r| {
                let repo = r.t.eyrie.create_repository(r.t.admin, repository(r)?).await?;
                r.arm();
                r.t.eyrie.create_branch(r.t.admin, NewBranch::new(repo.id, "main".parse()?)).await.map(drop)
            }),
        ),
        (
            "create_image",
            op!(|r| {
                r.arm();
                r.t.eyrie.create_image(r.t.admin, image(r)?).await.map(drop)
            }),
        ),
        (
            "update_image_digest",
            op!(|r| {
                let img = r.t.eyrie.create_image(r.t.admin, image(r)?).await?;
                r.arm();
                let digest = format!("sha256:{}", "b".repeat(64)).parse()?;
                r.t.eyrie.update_image_digest(r.t.admin, img.id, digest).await.map(drop)
            }),
        ),
        (
            "create_datasource",
            op!(|r| {
                r.arm();
                let ds = NewDatasource::new("Backups".parse()?, DataType::S3like, DatasourceUsage::RemoteBackup)
                    .with_bucket("acme-backups");
                r.t.eyrie.create_datasource(r.t.admin, r.t.project.id, ds).await.map(drop)
            }),
        ),
        (
            "invite",
            op!(|r| {
                r.arm();
                r.t.eyrie.invite(r.t.admin, r.t.project.id, "new@else.example".parse()?, Role::User).await.map(drop)
            }),
        ),
        (
            "revoke_invitation",
            op!(|r| {
                let inv = r.t.eyrie.invite(r.t.admin, r.t.project.id, "new@else.example".parse()?, Role::User).await?;
                r.arm();
                r.t.eyrie.revoke_invitation(r.t.admin, inv.id).await.map(drop)
            }),
        ),
        (
            "change_role",
            op!(|r| {
                r.arm();
                r.t.eyrie.change_role(r.t.admin, r.t.project.id, uid(r.t.viewer), Role::Developer).await.map(drop)
            }),
        ),
        (
            "remove_member",
            op!(|r| {
                r.arm();
                r.t.eyrie.remove_member(r.t.admin, r.t.project.id, uid(r.t.viewer)).await
            }),
        ),
        (
            "set_override",
            op!(|r| {
                r.arm();
                let target = OverrideTarget::Group(r.t.group.id);
                r.t.eyrie
                    .set_override(r.t.admin, r.t.project.id, uid(r.t.developer), target, Role::User)
                    .await
                    .map(drop)
            }),
        ),
        (
            "remove_override",
            op!(|r| {
                r.arm();
                let target = OverrideTarget::Deployment(r.t.sandbox.id);
                r.t.eyrie.remove_override(r.t.admin, r.t.project.id, uid(r.t.viewer), target).await
            }),
        ),
        (
            "Engine::submit",
            op!(|r| {
                r.arm();
                r.engine.submit(r.t.admin, r.t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await.map(drop)
            }),
        ),
        (
            "Engine::cancel",
            op!(|r| {
                let job = r.engine.submit(r.t.admin, r.t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await?;
                r.arm();
                r.engine.cancel(r.t.admin, job.id).await.map(drop)
            }),
        ),
        (
            "Engine::complete_manual_step",
            op!(|r| {
                for action in [JobAction::Initialize, JobAction::Deploy] {
                    r.engine.submit(r.t.admin, r.t.sandbox.id, action, BTreeMap::new()).await?;
                    r.engine.run_until_idle().await?;
                }
                let confirm = eyrie_core::StepSpec::manual("confirm", 10, "a person").with_estimated_duration(5);
                let (odoo, pause) = (GroupType::Odoo, JobAction::Pause);
                r.engine.publish_book(Actor::System, odoo, pause, "confirmed", vec![confirm]).await?;
                r.engine.submit(r.t.admin, r.t.sandbox.id, pause, BTreeMap::new()).await?;
                r.engine.run_until_idle().await?;
                let job = r.engine.list_jobs(r.t.admin, r.t.sandbox.id).await?.pop().expect("the pause job");
                r.arm();
                r.engine.complete_manual_step(r.t.admin, job.id).await.map(drop)
            }),
        ),
        (
            "Engine::backup_now",
            op!(|r| {
                let rig = backup_rig(&r.t).await?;
                deployed(r, &rig.engine).await?;
                r.arm();
                rig.engine.backup_now(r.t.admin, r.t.sandbox.id).await.map(drop)
            }),
        ),
        (
            "Engine::restore",
            op!(|r| {
                let rig = backup_rig(&r.t).await?;
                let backup = backed_up(r, &rig.engine).await?;
                r.arm();
                let options = eyrie_core::jobs::RestoreOptions::default();
                rig.engine.restore(r.t.admin, backup, r.t.sandbox.id, options).await.map(drop)
            }),
        ),
        (
            "download_urls",
            op!(|r| {
                let rig = backup_rig(&r.t).await?;
                let backup = backed_up(r, &rig.engine).await?;
                r.arm();
                rig.eyrie.download_urls(r.t.admin, backup, None).await.map(drop)
            }),
        ),
        (
            "delete_datasource",
            op!(|r| {
                let rig = backup_rig(&r.t).await?;
                for scope in [&r.t.prod, &r.t.stage, &r.t.dev] {
                    let config = eyrie_core::model::ScopeConfigPatch::default().with_backup_dest_datasource(None);
                    let patch = ScopePatch::default().with_config(config);
                    r.t.eyrie.update_scope(r.t.owner, scope.id, patch).await?;
                }
                r.arm();
                r.t.eyrie.delete_datasource(r.t.admin, rig.datasource.id).await
            }),
        ),
    ];
    for (name, op) in ops {
        holds(name, op).await;
    }
}

fn repository(r: &Rig) -> Result<NewRepository> {
    Ok(NewRepository::new("Shop".parse()?, "https://git.example/acme/shop.git".parse()?)
        .with_project_id(r.t.project.id))
}

fn image(r: &Rig) -> Result<NewImage> {
    Ok(NewImage::new("registry.example/acme/shop".parse()?).with_project_id(r.t.project.id))
}

#[tokio::test]
async fn accepting_an_invitation_pins_the_inviters_right_to_invite() {
    let r = rig(|t| Change::RemoveMember(t.project.id, uid(t.admin))).await;
    let email: eyrie_core::Email = "second@else.example".parse().unwrap();
    let inv = r.t.eyrie.invite(r.t.admin, r.t.project.id, email, Role::Admin).await.unwrap();
    r.arm();
    let e = r.t.eyrie.answer_invitation(Actor::user(inv.user_id), inv.id, true).await.unwrap_err();
    assert!(e.to_string().contains("void"), "{e}");
    assert_eq!(r.store.dump().await.unwrap(), r.store.after_change().unwrap(), "no membership was created");
}
