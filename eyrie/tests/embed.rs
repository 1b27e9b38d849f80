//! The facade end to end: a service and an engine from the builders, a
//! tenant created through the service, Initialize then Deploy run by the
//! engine onto a manifest directory, and a second Redeploy that changes no
//! file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eyrie::prelude::*;

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

async fn run(engine: &Engine, actor: Actor, id: DeploymentId, action: JobAction) -> Job {
    let job = engine.submit(actor, id, action, BTreeMap::new()).await.unwrap();
    engine.run_until_idle().await.unwrap();
    engine.get_job(actor, job.id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_reaches_the_manifest_directory_through_the_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let manifests = tmp.path().join("manifests");
    let eyrie = Eyrie::builder().data_dir(tmp.path().join("data")).build().await.unwrap();
    // The writer is kept to ask what it did (`.manifest_dir(…)` builds one too).
    let writer = Arc::new(ManifestDir::new(&manifests, Arc::new(SystemClock)));
    let engine = Engine::builder(&eyrie).executor(writer.clone()).build().unwrap();

    let owner = NewUser::new("Olga".parse().unwrap(), "olga@example.org".parse().unwrap());
    let owner = Actor::user(eyrie.register_user(Actor::System, owner).await.unwrap().id);
    // The platform's cluster, set up by a platform administrator.
    let root = NewUser::new("Root".parse().unwrap(), "root@example.org".parse().unwrap()).with_platform_admin(true);
    let root = eyrie.actor(eyrie.register_user(Actor::System, root).await.unwrap().id).await.unwrap();
    let cluster = NewCluster::new("Cluster 9".parse().unwrap(), "uid-9".parse().unwrap(), NewConnection::InCluster);
    let cluster = eyrie.create_cluster(root, cluster).await.unwrap();
    for state in [ClusterState::Init, ClusterState::Active] {
        eyrie.transition_cluster(root, cluster.id, state).await.unwrap();
    }

    let project = NewProject::new("Acme".parse().unwrap()).with_domain("acme.example".parse().unwrap());
    let project = eyrie.create_project(owner, project).await.unwrap();
    let group = NewGroup::new("Shop".parse().unwrap(), GroupType::Odoo, [cluster.id].into());
    let group = eyrie.create_group(owner, project.id, group).await.unwrap();
    let scope = NewScope::new("prod".parse().unwrap(), "prod".parse().unwrap());
    let scope = eyrie.create_scope(owner, group.id, scope).await.unwrap();
    let deployment = NewDeployment::new("shop".parse().unwrap(), scope.id);
    let shop = eyrie.create_deployment(owner, group.id, deployment).await.unwrap();

    for action in [JobAction::Initialize, JobAction::Deploy] {
        let job = run(&engine, owner, shop.id, action).await;
        assert_eq!(job.state, JobState::Done, "{action}: {job:?}");
    }
    assert_eq!(eyrie.get_deployment(owner, shop.id).await.unwrap().state, LifecycleState::Deploy);

    let files = yaml_files(&manifests);
    let namespace = format!("eyrie-{:016x}", project.namespace_uid.0);
    let names: Vec<String> = files.iter().map(|p| p.strip_prefix(&manifests).unwrap().display().to_string()).collect();
    assert!(names.iter().all(|n| n.starts_with(&format!("cluster-9/{namespace}/"))), "{names:?}");
    for kind in ["namespace-", "secret-", "persistentvolumeclaim-", "deployment-", "service-", "ingress-"] {
        assert!(names.iter().any(|n| n.contains(&format!("/{kind}"))), "no {kind} file in {names:?}");
    }
    let mtimes: Vec<_> = files.iter().map(|p| std::fs::metadata(p).unwrap().modified().unwrap()).collect();

    let first = writer.stats();
    assert_eq!((first.written, first.removed), (files.len() as u64, 0), "{first:?}");

    // Applying again with nothing changed writes nothing, and says so.
    let again = run(&engine, owner, shop.id, JobAction::Redeploy).await;
    assert_eq!(again.state, JobState::Done, "{again:?}");
    assert_eq!(yaml_files(&manifests), files);
    let after: Vec<_> = files.iter().map(|p| std::fs::metadata(p).unwrap().modified().unwrap()).collect();
    assert_eq!(after, mtimes, "a redeploy with nothing changed rewrote files");
    let second = writer.stats();
    assert_eq!((second.written, second.removed), (first.written, 0), "{second:?}");
    assert!(second.unchanged > first.unchanged, "{second:?}");
}

#[tokio::test]
async fn the_engine_builder_wants_to_know_where_deployments_go() {
    let tmp = tempfile::tempdir().unwrap();
    let eyrie = eyrie::builder().data_dir(tmp.path()).build().await.unwrap();
    let err = Engine::builder(&eyrie).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.to_string().contains("manifest_dir"), "{err}");
    let engine = Engine::builder(&eyrie).manifest_dir(tmp.path().join("m")).build().unwrap();
    assert!(engine.monitoring().is_some(), "monitor checks run by default");
    let engine = Engine::builder(&eyrie).manifest_dir(tmp.path().join("m")).without_monitoring().build().unwrap();
    assert!(engine.monitoring().is_none());
}

#[tokio::test]
async fn an_explicit_key_variable_must_be_set() {
    let tmp = tempfile::tempdir().unwrap();
    let built = Eyrie::builder().data_dir(tmp.path()).key_env("EYRIE_TEST_KEYS_NEVER_SET").build().await;
    let err = built.expect_err("an unset key variable was accepted");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(!tmp.path().join("sealing.keys").exists(), "no key file is generated when a variable was asked for");
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn the_sled_store_is_one_call_away() {
    let tmp = tempfile::tempdir().unwrap();
    let work = async {
        let eyrie = Eyrie::builder().data_dir(tmp.path()).sled(tmp.path().join("sled")).build().await.unwrap();
        let input = NewUser::new("Sam".parse().unwrap(), "sam@example.org".parse().unwrap());
        let sam = eyrie.register_user(Actor::System, input).await.unwrap();
        let stored = eyrie.get_user(Actor::System, sam.id).await.unwrap();
        assert_eq!(stored.email, sam.email, "the user is in the sled store");
    };
    // sled can stall under load (sled issue 1412): fail clearly instead of hanging.
    tokio::time::timeout(std::time::Duration::from_secs(60), work)
        .await
        .expect("sled did not answer within 60 s (a sled stall?)");
    assert!(tmp.path().join("sled").exists());
    assert!(!tmp.path().join("eyrie.redb").exists(), "no redb store when sled was chosen");
}
