//! SPEC §9: hostnames belong to one project. Each test names its rule.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use eyrie_core::service::{NewGroup, NewProject, NewUser, ProjectPatch, ScopeConfig, ScopePatch};
use eyrie_core::{Actor, ErrorKind, GroupType, Project};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, new_deployment, new_scope, typical_tenant};

async fn with_zoe() -> (Tenant, Actor, Project) {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let zoe = NewUser::new("Zoe".parse().unwrap(), "zoe@zulu.example".parse().unwrap());
    let zoe = Actor::user(t.eyrie.register_user(Actor::System, zoe).await.unwrap().id);
    let zulu = NewProject::new("Zulu".parse().unwrap());
    let zulu = t.eyrie.create_project(zoe, zulu).await.unwrap();
    (t, zoe, zulu)
}

fn set_domain(s: &str) -> ProjectPatch {
    ProjectPatch::default().with_domain(Some(s.parse().unwrap()))
}

#[tokio::test]
async fn a_claim_equal_to_below_or_above_another_projects_claim_is_refused_naming_no_other_tenant() {
    let (t, zoe, zulu) = with_zoe().await;
    // Acme holds acme.example (project) and stage.acme.example (a scope).
    for name in ["acme.example", "shop.acme.example", "x.stage.acme.example"] {
        let e = t.eyrie.update_project(zoe, zulu.id, set_domain(name)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{name}: {e}");
        let text = e.to_string();
        assert!(!text.contains("Acme") && !text.contains(&t.project.id.to_string()), "names no tenant: {text}");
    }
    t.eyrie.update_project(zoe, zulu.id, set_domain("x.zulu.example")).await.unwrap();
    let e = t.eyrie.update_project(t.owner, t.project.id, set_domain("zulu.example")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "above another project's claim: {e}");
    let e = t.eyrie.update_project(t.owner, t.project.id, set_domain("example")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "nobody claims a top-level domain: {e}");

    // A scope's root_subdomain is a claim as well.
    let group = NewGroup::new("Zulu shop".parse().unwrap(), GroupType::Odoo, [t.clusters[0].id].into());
    let group = t.eyrie.create_group(zoe, zulu.id, group).await.unwrap();
    let config = ScopeConfig::default().with_root_subdomain("preview.acme.example".parse().unwrap());
    let e = t.eyrie.create_scope(zoe, group.id, new_scope("stage", config).unwrap()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    assert_eq!(t.eyrie.get_project(t.owner, t.project.id).await.unwrap().domain, "acme.example".parse().ok());
}

#[tokio::test]
async fn one_project_may_nest_its_own_claims_and_siblings_are_free() {
    let (t, zoe, zulu) = with_zoe().await;
    // The fixture already nests stage.acme.example under acme.example for Acme.
    assert!(t.stage.root_subdomain.is_some());
    let e = t.eyrie.update_project(zoe, zulu.id, set_domain("zulu.example")).await;
    assert!(e.is_ok(), "a sibling of acme.example: {e:?}");
}

#[tokio::test]
async fn claims_are_released_when_changed_or_deleted() {
    let (t, zoe, zulu) = with_zoe().await;
    t.eyrie.update_project(t.owner, t.project.id, set_domain("acme.test")).await.unwrap();
    let e = t.eyrie.update_project(zoe, zulu.id, set_domain("shop.acme.example")).await;
    assert!(e.is_ok(), "acme.example was released (stage.acme.example is a sibling): {e:?}");
    let e = t.eyrie.update_project(zoe, zulu.id, set_domain("stage.acme.example")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "the scope still holds its claim");
    let mut config = t.stage.config();
    config.root_subdomain = None;
    t.eyrie.update_scope(t.owner, t.stage.id, ScopePatch::default().with_config(config.into())).await.unwrap();
    assert!(t.eyrie.update_project(zoe, zulu.id, set_domain("stage.acme.example")).await.is_ok(), "now released");
    t.eyrie.delete_project(zoe, zulu.id).await.unwrap();
    assert!(
        t.eyrie.update_project(t.owner, t.project.id, set_domain("acme.example")).await.is_ok(),
        "deleted frees it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_projects_racing_for_one_domain_exactly_one_wins() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    for round in 0..8 {
        let mut projects = Vec::new();
        for i in 0..4 {
            let p = NewProject::new(format!("Racer {round} {i}").parse().unwrap());
            projects.push(t.eyrie.create_project(t.owner, p).await.unwrap().id);
        }
        // Equal, below and above one another: at most one may hold any of them.
        let names = [format!("r{round}.example"), format!("a.r{round}.example"), format!("b.a.r{round}.example")];
        let mut tasks = Vec::new();
        for (i, p) in projects.into_iter().enumerate() {
            let (eyrie, owner, name) = (t.eyrie.clone(), t.owner, names[i % names.len()].clone());
            tasks.push(tokio::spawn(async move { eyrie.update_project(owner, p, set_domain(&name)).await }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(e) => assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}"),
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one project holds the subtree");
    }
}

#[tokio::test]
async fn a_claim_made_between_the_check_and_the_commit_is_caught() {
    use eyrie_core::storage::{StoreExt, Transaction};
    use eyrie_core::{ClaimSource, HostClaim, HostClaimId, HostShard, HostShardId};
    let store = eyrie_testkit::InterposingStore::new(Arc::new(MemoryStore::new()));
    let t = typical_tenant(Arc::new(store.clone())).await.unwrap();
    let racer = NewProject::new("Racer".parse().unwrap());
    let racer = t.eyrie.create_project(t.owner, racer).await.unwrap();
    // Exactly what another project's claim of race.example commits, landing
    // after this call checked for overlaps and before it commits.
    let shard =
        HostShard { id: HostShardId(eyrie_core::hostnames::name_key("race.example")), name: "race.example".into() };
    assert!(t.store.find::<HostShard>(shard.id.0).await.unwrap().is_none());
    let claim = HostClaim {
        id: HostClaimId(0x7777),
        project_id: racer.id,
        name: "race.example".parse().unwrap(),
        source: ClaimSource::ProjectDomain,
    };
    store.arm(eyrie_testkit::Change::Commit(Transaction::new().create(shard).create(claim)));
    let e = t.eyrie.update_project(t.owner, t.project.id, set_domain("a.race.example")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "the re-run sees the racer's claim: {e}");
}

#[tokio::test]
async fn two_deployments_never_get_the_same_effective_hostname() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let sandbox = t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap();
    assert_eq!(sandbox.hostname.as_deref(), Some("sandbox.acme.example"));
    let effective = t.eyrie.effective(t.owner, t.sandbox.id).await.unwrap();
    assert_eq!(effective.host.map(|h| h.value), sandbox.hostname, "stored and effective agree");

    // Another group of the project under the same domain.
    let group = NewGroup::new("Other".parse().unwrap(), GroupType::None, [t.clusters[0].id].into());
    let other = t.eyrie.create_group(t.owner, t.project.id, group).await.unwrap();
    let dev = t.eyrie.create_scope(t.owner, other.id, new_scope("dev", Default::default()).unwrap()).await.unwrap();
    let e = t.eyrie.create_deployment(t.owner, other.id, new_deployment("sandbox", &dev).unwrap()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(e.to_string().contains("sandbox.acme.example"), "{e}");

    // A scope whose root_subdomain would put one of its deployments on a taken name.
    let twin = t.eyrie.create_deployment(t.owner, other.id, new_deployment("preview", &dev).unwrap()).await.unwrap();
    assert_eq!(twin.hostname.as_deref(), Some("preview.acme.example"));
    let mut config = dev.config();
    config.root_subdomain = Some("stage.acme.example".parse().unwrap());
    let e = t.eyrie.update_scope(t.owner, dev.id, ScopePatch::default().with_config(config.into())).await;
    assert_eq!(
        e.unwrap_err().kind(),
        ErrorKind::AlreadyExists,
        "preview.stage.acme.example is taken by Acme's preview"
    );

    // A new project domain moves every hostname under it at once.
    t.eyrie.update_project(t.owner, t.project.id, set_domain("acme.test")).await.unwrap();
    let moved = t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap();
    assert_eq!(moved.hostname.as_deref(), Some("sandbox.acme.test"));
    let staged = t.eyrie.get_deployment(t.owner, t.preview.id).await.unwrap();
    assert_eq!(staged.hostname.as_deref(), Some("preview.stage.acme.example"), "under its scope's root_subdomain");
}
