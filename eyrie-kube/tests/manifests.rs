//! The manifest-directory executor against a temporary directory: paths,
//! atomic and minimal writes, removal, observation, and the leftovers of a
//! writer killed mid-write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use eyrie_core::executor::{ClusterExecutor, DesiredDeployment};
use eyrie_core::{ErrorKind, GroupType, LifecycleState};
use eyrie_kube::manifests::file_name;
use eyrie_kube::render::{DeploymentSecrets, Run, render};
use eyrie_kube::{ManifestDir, SecretSource};
use serde_json::Value;
use support::{access, clock, deployment};

fn dir_of(root: &Path, d: &DesiredDeployment) -> PathBuf {
    root.join("cluster-1").join(&d.namespace)
}

/// The `*.yaml` files under `dir`, by name.
fn yaml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

fn stamp(path: &Path) -> (u64, i64, i64) {
    let m = fs::metadata(path).unwrap();
    (m.ino(), m.mtime(), m.mtime_nsec())
}

#[tokio::test]
async fn writes_one_file_per_object_where_the_layout_says() {
    let root = tempfile::tempdir().unwrap();
    let exec = ManifestDir::new(root.path(), clock());
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    exec.ensure_namespace(&access(), &d).await.unwrap();
    let written = exec.write(&access(), &d, Run::Running).await.unwrap();
    let rendered = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap();
    let dir = dir_of(root.path(), &d);
    let mut expected: Vec<String> =
        std::iter::once(&rendered.namespace).chain(&rendered.objects).map(file_name).collect();
    expected.sort();
    assert_eq!(yaml_files(&dir), expected);
    assert_eq!(written.written.len(), rendered.objects.len());
    assert!(yaml_files(&dir).contains(&format!("deployment-{}.yaml", rendered.objects[2].name)));
    // Every file parses back to exactly the rendered object.
    for object in std::iter::once(&rendered.namespace).chain(&rendered.objects) {
        let text = fs::read_to_string(dir.join(file_name(object))).unwrap();
        let body: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(body, object.body, "{}", file_name(object));
    }
}

#[tokio::test]
async fn a_second_write_touches_nothing_and_a_change_rewrites_only_what_changed() {
    let root = tempfile::tempdir().unwrap();
    let exec = ManifestDir::new(root.path(), clock());
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    exec.apply(&access(), &d).await.unwrap();
    let dir = dir_of(root.path(), &d);
    let before: Vec<_> = yaml_files(&dir).iter().map(|n| (n.clone(), stamp(&dir.join(n)))).collect();
    // Let a rewrite show in the modification time even on coarse clocks.
    std::thread::sleep(std::time::Duration::from_millis(20));

    let stats = exec.stats();
    assert_eq!((stats.written, stats.unchanged, stats.removed), (5, 0, 0), "{stats:?}");
    let again = exec.write(&access(), &d, Run::Running).await.unwrap();
    assert!(again.is_noop(), "{again:?}");
    assert_eq!(exec.stats().written, 5, "the second write counted no file written");
    assert_eq!(exec.stats().unchanged, 5);
    assert_eq!(again.unchanged.len(), before.len());
    for (name, was) in &before {
        assert_eq!(stamp(&dir.join(name)), *was, "{name} was rewritten although unchanged");
    }

    // Paused: only the Deployment (replicas 0) changes.
    let paused = exec.write(&access(), &d, Run::Paused).await.unwrap();
    let names: Vec<String> =
        paused.written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("deployment-"));
    for (name, was) in &before {
        if *name != names[0] {
            assert_eq!(stamp(&dir.join(name)), *was, "{name}");
        }
    }

    // Without a host the Ingress is no longer rendered: its file goes.
    let mut no_host = d.clone();
    no_host.effective.host = None;
    let removed = exec.write(&access(), &no_host, Run::Running).await.unwrap();
    assert_eq!(removed.removed.len(), 1);
    assert!(removed.removed[0].file_name().unwrap().to_string_lossy().starts_with("ingress-"));
    assert!(!yaml_files(&dir).iter().any(|n| n.starts_with("ingress-")));
}

#[tokio::test]
async fn a_write_killed_before_its_rename_leaves_a_temp_file_that_is_never_read_and_is_cleaned() {
    let root = tempfile::tempdir().unwrap();
    let exec = ManifestDir::new(root.path(), clock());
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    exec.apply(&access(), &d).await.unwrap();
    let dir = dir_of(root.path(), &d);
    let workload = yaml_files(&dir).into_iter().find(|n| n.starts_with("deployment-")).unwrap();
    let good = fs::read(dir.join(&workload)).unwrap();
    // What a writer killed between create and rename leaves: a half-written
    // temporary file beside the real one, which is intact.
    let leftover = dir.join(format!(".{workload}.tmp-4242-0"));
    fs::write(&leftover, &good[..good.len() / 2]).unwrap();

    // Reading ignores it: the deployment is observed from the intact file.
    let seen = exec.observe(&access(), &d).await.unwrap();
    assert_eq!((seen.ready_replicas, seen.desired_replicas), (1, 1));
    assert!(exec.files_of(&access(), &d).await.unwrap().iter().all(|p| !p.to_string_lossy().contains(".tmp-")));

    // The next write of the deployment removes it and leaves the file whole.
    exec.apply(&access(), &d).await.unwrap();
    assert!(!leftover.exists(), "the leftover temporary file was not cleaned");
    assert_eq!(fs::read(dir.join(&workload)).unwrap(), good);
    let left: Vec<String> =
        fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(left.iter().all(|n| !n.starts_with('.')), "{left:?}");
}

#[tokio::test]
async fn observe_reports_the_file_and_whether_it_holds_the_desired_state() {
    let root = tempfile::tempdir().unwrap();
    let exec = ManifestDir::new(root.path(), clock());
    let mut d = deployment(GroupType::Pgo, "db", "main", 78);
    let missing = exec.observe(&access(), &d).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    exec.apply(&access(), &d).await.unwrap();
    let seen = exec.observe(&access(), &d).await.unwrap();
    assert_eq!((seen.ready_replicas, seen.desired_replicas), (2, 2));
    assert_eq!(seen.conditions[0].status, "True");

    // The desired state moved on (more replicas), the file not yet.
    d.effective.replicas.value = 3;
    let stale = exec.observe(&access(), &d).await.unwrap();
    assert_eq!((stale.ready_replicas, stale.desired_replicas), (0, 2));
    assert_eq!(stale.conditions[0].status, "False");

    // Paused: the file says shut down.
    d.state = LifecycleState::Pause;
    exec.apply(&access(), &d).await.unwrap();
    let paused = exec.observe(&access(), &d).await.unwrap();
    assert_eq!((paused.ready_replicas, paused.desired_replicas), (0, 0));
}

#[tokio::test]
async fn remove_deletes_this_deployments_files_only_and_obeys_allow_drop() {
    let root = tempfile::tempdir().unwrap();
    let exec = ManifestDir::new(root.path(), clock());
    let mut shop = deployment(GroupType::Odoo, "erp", "shop", 77);
    let api = deployment(GroupType::None, "apps", "api", 80);
    assert_eq!(shop.namespace, api.namespace, "both live in the project namespace");
    for d in [&shop, &api] {
        exec.ensure_namespace(&access(), d).await.unwrap();
        exec.apply(&access(), d).await.unwrap();
    }
    let dir = dir_of(root.path(), &shop);
    let all = yaml_files(&dir);
    let api_files = exec.files_of(&access(), &api).await.unwrap();
    assert_eq!(api_files.len(), 3);

    shop.effective.allow_drop.value = false;
    let refused = exec.remove(&access(), &shop).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PolicyViolation);
    assert_eq!(yaml_files(&dir), all, "a refused remove changes nothing");

    shop.effective.allow_drop.value = true;
    let removed_before = exec.stats().removed;
    exec.remove(&access(), &shop).await.unwrap();
    assert_eq!(exec.stats().removed - removed_before, 5, "the five odoo objects' files");
    let left = yaml_files(&dir);
    assert_eq!(left.len(), 1 + api_files.len(), "{left:?}");
    assert!(left.iter().any(|n| n.starts_with("namespace-")), "the namespace outlives its deployments");
    assert_eq!(exec.files_of(&access(), &api).await.unwrap(), api_files);
    exec.remove(&access(), &shop).await.unwrap();
}

struct Passwords;

impl SecretSource for Passwords {
    fn secrets_for(&self, _: &DesiredDeployment) -> eyrie_core::Result<DeploymentSecrets> {
        Ok(DeploymentSecrets::none().with("admin_passwd", eyrie_core::SecretString::new("hunter2-admin")))
    }
}

#[tokio::test]
async fn secrets_go_to_owner_only_files() {
    let root = tempfile::tempdir().unwrap();
    let exec = ManifestDir::new(root.path(), clock()).with_secrets(std::sync::Arc::new(Passwords));
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let written = exec.write(&access(), &d, Run::Running).await.unwrap();
    for path in &written.written {
        let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let is_secret = path.file_name().unwrap().to_string_lossy().starts_with("secret-");
        if is_secret {
            assert_eq!(mode, 0o600, "{}", path.display());
        } else {
            assert_ne!(mode & 0o044, 0, "{} should stay readable by a GitOps agent", path.display());
        }
    }
    assert!(format!("{exec:?}").contains("ManifestDir"));
}
