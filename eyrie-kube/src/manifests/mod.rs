//! [`ManifestDir`]: a [`ClusterExecutor`] that writes each cluster's rendered
//! objects as YAML files instead of sending them to an API server — the
//! GitOps way to run Eyrie, with Argo CD or Flux syncing the directory.
//!
//! ```text
//! <dir>/<cluster slug>/<namespace>/<kind>-<name>.yaml
//! <dir>/eu-1/eyrie-00000000000003e9/namespace-eyrie-00000000000003e9.yaml
//! <dir>/eu-1/eyrie-00000000000003e9/deployment-shop-main-2p.yaml
//! ```
//!
//! `<kind>` is the lowercase `kind` (`deployment`, `postgrescluster`); one
//! file holds one object. Rendering is [`crate::render`]'s, so a file holds
//! exactly what [`KubeExecutor`](crate::KubeExecutor) would apply.
//!
//! - `ensure_namespace` writes the namespace file; it is never removed (the
//!   project's namespace outlives its deployments).
//! - `apply` / `pause` / `resume` render the deployment (running for every
//!   state but `pause`, or as told), write each object whose file does not
//!   already hold exactly those bytes, and remove the deployment's files
//!   that it no longer renders (found by their `eyrie.dev/deployment` label,
//!   read from disk). A file that already holds the rendered bytes is not
//!   touched: its modification time and inode stay, so a second run changes
//!   nothing and a GitOps tool sees no commit.
//! - `remove` is refused when the scope forbids drops, as on a cluster;
//!   otherwise it deletes every file carrying the deployment's label.
//! - `observe` reads the workload's file back: `desired_replicas` as the file
//!   says (zero when paused), and `ready_replicas` equal to it when the file
//!   holds what the deployment renders to now, else zero, with a `Written`
//!   condition saying which. Whether the cluster runs it is for the GitOps
//!   tool to report: this executor observes the directory, which is what it
//!   manages. A missing workload file is [`Error::NotFound`].
//! - `backup` / `restore` keep the executor's default refusal (a
//!   non-retryable `Backend` error): a backup is a Job or an operator
//!   request whose outcome must be read from the cluster, and a directory
//!   cannot say whether it succeeded. Use [`KubeExecutor`](crate::KubeExecutor)
//!   (see [`crate::backups`]) for deployments that need backups.
//!
//! Every write is atomic (see [`files`](self) internals: a temporary file in
//! the same directory, synced, renamed), so a process killed mid-write
//! leaves the old file or the new one. A temporary file left by a killed
//! writer is never read as a manifest and is removed by the next write of
//! the same deployment (a leftover of the shared namespace file is left:
//! another deployment's job may be writing it at that moment; it is never
//! read either). Secrets are written only when a [`SecretSource`]
//! gives them (none by default), to files readable by their owner only;
//! a directory pushed to git should hold sealed or external secrets instead.

mod files;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use eyrie_core::executor::{ClusterAccess, ClusterExecutor, DesiredDeployment};
use eyrie_core::{Clock, Condition, Error, LifecycleState, ObservedState, Result};

use crate::kinds::Kind;
use crate::labels;
use crate::observe::{observe, workload_kind};
use crate::render::{Object, Run, base_name, render, render_namespace, write_yaml};
use crate::secrets::{NoSecrets, SecretSource};

/// What one write of a deployment did, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Files created or replaced.
    pub written: Vec<PathBuf>,
    /// Files that already held the rendered bytes (not touched).
    pub unchanged: Vec<PathBuf>,
    /// Files removed (objects no longer rendered).
    pub removed: Vec<PathBuf>,
}

impl Written {
    /// Whether nothing on disk changed.
    pub fn is_noop(&self) -> bool {
        self.written.is_empty() && self.removed.is_empty()
    }
}

/// What a [`ManifestDir`] did since it was made, in files (the namespace
/// file included): for a program to say whether a run changed anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Files created or replaced.
    pub written: u64,
    /// Files left alone because they already held the rendered bytes.
    pub unchanged: u64,
    /// Files removed.
    pub removed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    unchanged: AtomicU64,
    removed: AtomicU64,
}

impl Counters {
    fn add(&self, written: usize, unchanged: usize, removed: usize) {
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        self.written.fetch_add(n(written), Ordering::Relaxed);
        self.unchanged.fetch_add(n(unchanged), Ordering::Relaxed);
        self.removed.fetch_add(n(removed), Ordering::Relaxed);
    }
}

/// Writes rendered manifests under a directory. See the module docs.
pub struct ManifestDir {
    root: PathBuf,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretSource>,
    counters: Counters,
}

impl fmt::Debug for ManifestDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManifestDir").field("root", &self.root).finish_non_exhaustive()
    }
}

/// The file name of `object`: `<kind>-<name>.yaml`.
pub fn file_name(object: &Object) -> String {
    format!("{}-{}{}", object.kind.kind().to_ascii_lowercase(), object.name, files::EXTENSION)
}

/// Refuses a path component that could leave its directory. Rendered names
/// are DNS labels already; this guards the contract, not the renderer.
fn component(what: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && !value.starts_with('.')
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b));
    if ok { Ok(()) } else { Err(crate::render::invalid(what, value, "is not usable as a file name")) }
}

impl ManifestDir {
    /// Writes under `root` (created when missing), stamping observations
    /// with `clock`. No secrets are rendered until [`ManifestDir::with_secrets`].
    pub fn new(root: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        ManifestDir { root: root.into(), clock, secrets: Arc::new(NoSecrets), counters: Counters::default() }
    }

    /// Renders configuration secrets from `source` (written to owner-only files).
    pub fn with_secrets(mut self, source: Arc<dyn SecretSource>) -> Self {
        self.secrets = source;
        self
    }

    /// What this writer did so far (every executor call and [`ManifestDir::write`]).
    pub fn stats(&self) -> WriteStats {
        WriteStats {
            written: self.counters.written.load(Ordering::Relaxed),
            unchanged: self.counters.unchanged.load(Ordering::Relaxed),
            removed: self.counters.removed.load(Ordering::Relaxed),
        }
    }

    /// The directory everything is written under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<cluster slug>/<namespace>`.
    pub fn namespace_dir(&self, cluster: &ClusterAccess, namespace: &str) -> Result<PathBuf> {
        component("cluster slug", cluster.slug.as_str())?;
        component("namespace", namespace)?;
        Ok(self.root.join(cluster.slug.as_str()).join(namespace))
    }

    /// Where `object` is written for `cluster`.
    pub fn path_of(&self, cluster: &ClusterAccess, object: &Object) -> Result<PathBuf> {
        let namespace = object.namespace.as_deref().unwrap_or(&object.name);
        component("object name", &object.name)?;
        Ok(self.namespace_dir(cluster, namespace)?.join(file_name(object)))
    }

    fn render(&self, deployment: &DesiredDeployment, run: Run) -> Result<Vec<Object>> {
        if deployment.state == LifecycleState::Dropped {
            return Err(Error::policy(format!("deployment {} is dropped: nothing to write", deployment.deployment_id)));
        }
        let secrets = self.secrets.secrets_for(deployment)?;
        Ok(render(deployment, run, &secrets)?.objects)
    }

    /// Renders `deployment` as `run` and brings its files under `cluster` to
    /// it; returns what changed. What `apply`, `pause` and `resume` do.
    pub async fn write(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment, run: Run) -> Result<Written> {
        let mut targets = Vec::new();
        for object in self.render(deployment, run)? {
            let mut yaml = String::new();
            write_yaml(&mut yaml, &object)?;
            targets.push((self.path_of(cluster, &object)?, yaml, object.kind == Kind::Secret));
        }
        let dir = self.namespace_dir(cluster, &deployment.namespace)?;
        let id = deployment.deployment_id.to_string();
        let written = blocking(move || sync_files(&dir, &id, &targets)).await?;
        self.counters.add(written.written.len(), written.unchanged.len(), written.removed.len());
        if !written.is_noop() {
            tracing::info!(
                deployment = %deployment.deployment_id,
                cluster = %cluster.slug,
                written = written.written.len(),
                removed = written.removed.len(),
                "manifests written"
            );
        }
        Ok(written)
    }

    /// The deployment's files under `cluster`, as read from disk.
    pub async fn files_of(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<Vec<PathBuf>> {
        let dir = self.namespace_dir(cluster, &deployment.namespace)?;
        let id = deployment.deployment_id.to_string();
        blocking(move || Ok(owned_by(&dir, &id)?.into_iter().map(|(path, _)| path).collect())).await
    }
}

/// Runs blocking disk work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::backend(format!("manifest writer stopped: {e}"), true))?
}

/// The files in `dir` whose object carries the deployment label `id`.
fn owned_by(dir: &Path, id: &str) -> Result<Vec<(PathBuf, Object)>> {
    let mut mine = files::read_all(dir)?;
    mine.retain(|(_, object)| {
        let labels = object.body.pointer("/metadata/labels");
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(serde_json::Value::as_str);
        label(labels::DEPLOYMENT) == Some(id) && label(labels::MANAGED_BY) == Some(labels::MANAGER)
    });
    Ok(mine)
}

/// Writes `targets` (path, YAML, private) and removes the other files of
/// deployment `id` in `dir`.
fn sync_files(dir: &Path, id: &str, targets: &[(PathBuf, String, bool)]) -> Result<Written> {
    let before = owned_by(dir, id)?;
    let names: Vec<&str> = targets
        .iter()
        .map(|(p, _, _)| p)
        .chain(before.iter().map(|(p, _)| p))
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
        .collect();
    let cleaned = files::clean_temps(dir, names)?;
    if cleaned > 0 {
        tracing::warn!(dir = %dir.display(), cleaned, "removed temporary files left by an interrupted write");
    }
    let mut out = Written::default();
    for (path, yaml, private) in targets {
        if files::write_atomic(path, yaml.as_bytes(), *private)? {
            out.written.push(path.clone());
        } else {
            out.unchanged.push(path.clone());
        }
    }
    for (path, _) in before {
        if !targets.iter().any(|(p, _, _)| *p == path) && files::remove(&path)? {
            out.removed.push(path);
        }
    }
    Ok(out)
}

#[async_trait]
impl ClusterExecutor for ManifestDir {
    async fn ensure_namespace(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        let namespace = render_namespace(deployment)?;
        let path = self.path_of(cluster, &namespace)?;
        let mut yaml = String::new();
        write_yaml(&mut yaml, &namespace)?;
        let wrote = blocking(move || files::write_atomic(&path, yaml.as_bytes(), false)).await?;
        self.counters.add(usize::from(wrote), usize::from(!wrote), 0);
        Ok(())
    }

    async fn apply(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        self.write(cluster, deployment, Run::for_state(deployment)).await.map(drop)
    }

    async fn pause(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        self.write(cluster, deployment, Run::Paused).await.map(drop)
    }

    async fn resume(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        self.write(cluster, deployment, Run::Running).await.map(drop)
    }

    async fn remove(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        if !deployment.effective.allow_drop.value {
            return Err(Error::policy(format!("the scope of deployment {} forbids drops", deployment.deployment_id)));
        }
        let dir = self.namespace_dir(cluster, &deployment.namespace)?;
        let id = deployment.deployment_id.to_string();
        let removed = blocking(move || {
            let mine = owned_by(&dir, &id)?;
            let names: Vec<&str> = mine.iter().filter_map(|(p, _)| p.file_name().and_then(|n| n.to_str())).collect();
            files::clean_temps(&dir, names)?;
            let mut removed = 0;
            for (path, _) in &mine {
                removed += usize::from(files::remove(path)?);
            }
            Ok(removed)
        })
        .await?;
        self.counters.add(0, 0, removed);
        Ok(())
    }

    async fn observe(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<ObservedState> {
        let kind = workload_kind(deployment.effective.group_type);
        let name = base_name(deployment);
        let rendered = self.render(deployment, Run::for_state(deployment))?;
        let wanted = rendered.iter().find(|o| o.kind == kind && o.name == name);
        let path = self.namespace_dir(cluster, &deployment.namespace)?.join(format!(
            "{}-{name}{}",
            kind.kind().to_ascii_lowercase(),
            files::EXTENSION
        ));
        let read_path = path.clone();
        let on_disk = blocking(move || files::read(&read_path)).await?;
        let Some(on_disk) = on_disk else {
            return Err(Error::not_found("manifest", path.display().to_string()));
        };
        let mut state = observe(&on_disk, self.clock.now()).state;
        let in_sync = wanted.is_some_and(|w| w.body == on_disk.body);
        state.ready_replicas = if in_sync { state.desired_replicas } else { 0 };
        state.conditions = vec![Condition {
            kind: "Written".to_owned(),
            status: if in_sync { "True" } else { "False" }.to_owned(),
            message: Some(if in_sync {
                format!("{} holds the desired state", path.display())
            } else {
                format!("{} differs from the desired state", path.display())
            }),
        }];
        Ok(state)
    }
}
