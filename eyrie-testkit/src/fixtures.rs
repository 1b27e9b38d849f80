//! Fixtures: a manual clock, sequential ids, a test key ring, a service over
//! any store, and a typical tenant.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use eyrie_core::service::{
    KeyRing, NewCluster, NewConnection, NewDeployment, NewGroup, NewProject, NewScope, NewUser, NonceSource,
    ScopeConfig, SealingKey,
};
use eyrie_core::storage::Store;
use eyrie_core::{
    Actor, Clock, Cluster, ClusterState, Deployment, DeploymentGroup, Eyrie, GroupType, IdSource, OverrideTarget,
    Project, Result, Role, Scope, SecretString, Settings, Timestamp, User,
};

use crate::builders::T0;

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock at `at`.
    pub fn new(at: Timestamp) -> Self {
        ManualClock(AtomicI64::new(at.as_millis()))
    }

    /// Sets the time.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.as_millis(), Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance_seconds(&self, seconds: u64) {
        self.0.fetch_add(seconds.saturating_mul(1000) as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// Ids 1, 2, 3, … (or from any start).
#[derive(Debug)]
pub struct SequentialIds(AtomicU64);

impl SequentialIds {
    /// Starts at `first`.
    pub fn starting_at(first: u64) -> Self {
        SequentialIds(AtomicU64::new(first))
    }
}

impl IdSource for SequentialIds {
    fn next_id(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// Counter nonces: unique per process, deterministic. For tests only.
#[derive(Debug, Default)]
pub struct CountingNonces(AtomicU64);

impl NonceSource for CountingNonces {
    fn fill(&self, nonce: &mut [u8; 24]) {
        nonce.fill(0);
        nonce[..8].copy_from_slice(&self.0.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
}

/// A key ring with one fixed test key, id `test-1`.
pub fn test_key_ring() -> KeyRing {
    match KeyRing::new("test-1", SealingKey::from_bytes([0x42; 32]), CountingNonces::default()) {
        Ok(ring) => ring,
        Err(_) => unreachable!("the test key id is valid"),
    }
}

/// A service over `store` with a manual clock at [`T0`], sequential ids
/// from `first_id` and the test key ring.
pub fn service_with(store: Arc<dyn Store>, first_id: u64) -> (Eyrie, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let eyrie =
        Eyrie::new(store, clock.clone(), Arc::new(SequentialIds::starting_at(first_id)), Arc::new(test_key_ring()));
    (eyrie, clock)
}

/// [`service_with`] with ids from 1.
pub fn service(store: Arc<dyn Store>) -> (Eyrie, Arc<ManualClock>) {
    service_with(store, 1)
}

/// A typical tenant: one project (`acme`, domain `acme.example`) owned by
/// Olivia, an `odoo` group `shop` on two active clusters with scopes prod,
/// stage and dev, three members (Ada admin, Dev developer, Uma user) of
/// whom Uma holds one override (developer on the dev deployment), and one
/// deployment per scope.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The service.
    pub eyrie: Eyrie,
    /// The store underneath, for tests that look behind the service (the
    /// service itself offers no way around authorization and audit).
    pub store: Arc<dyn Store>,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// A platform administrator (not a member of the project).
    pub root: Actor,
    /// The owner.
    pub owner: Actor,
    /// An admin member.
    pub admin: Actor,
    /// A developer member.
    pub developer: Actor,
    /// A user member with a developer override on `sandbox`.
    pub viewer: Actor,
    /// The project.
    pub project: Project,
    /// The two clusters, both active.
    pub clusters: [Cluster; 2],
    /// The odoo group.
    pub group: DeploymentGroup,
    /// prod: limit 3, first cluster only, drops forbidden, priority 30.
    pub prod: Scope,
    /// stage: under `stage.acme.example`, priority 20.
    pub stage: Scope,
    /// dev: drops allowed, `role_to_admin = developer`, pause after 8 h, drop after 7 days.
    pub dev: Scope,
    /// The deployment in prod.
    pub shop: Deployment,
    /// The deployment in stage.
    pub preview: Deployment,
    /// The deployment in dev.
    pub sandbox: Deployment,
}

async fn user(eyrie: &Eyrie, name: &str, email: &str, platform_admin: bool) -> Result<User> {
    eyrie
        .register_user(Actor::System, NewUser::new(name.parse()?, email.parse()?).with_platform_admin(platform_admin))
        .await
}

/// A deployment named `name` in `scope`, inheriting everything, subscribed to its image.
pub fn new_deployment(name: &str, scope: &Scope) -> Result<NewDeployment> {
    Ok(NewDeployment::new(name.parse()?, scope.id).with_image_subscribed(true))
}

/// A scope with code and name `code`.
pub fn new_scope(code: &str, config: ScopeConfig) -> Result<NewScope> {
    Ok(NewScope::new(code.parse()?, code.parse()?).with_config(config))
}

fn actor(u: &User) -> Actor {
    Actor::User { id: u.id }
}

/// An engine over `t`'s service with the default configuration, whose
/// built-in steps run on a fresh [`RecordingExecutor`](crate::RecordingExecutor).
pub fn recording_engine(t: &Tenant) -> eyrie_core::Engine {
    let executor = Arc::new(crate::RecordingExecutor::new());
    let handlers = eyrie_core::jobs::HandlerRegistry::with_executor(executor);
    eyrie_core::Engine::new(t.eyrie.clone(), handlers, eyrie_core::EngineConfig::default())
}

/// What [`backup_rig`] sets up: the tenant's service with an in-memory
/// bucket, the engine over a recording executor that writes backups into
/// it, and the datasource every scope now sends its backups to.
#[derive(Debug, Clone)]
pub struct BackupRig {
    /// The tenant's service, with [`BackupRig::objects`] as its bucket client.
    pub eyrie: Eyrie,
    /// The engine.
    pub engine: eyrie_core::Engine,
    /// Its executor.
    pub executor: crate::RecordingExecutor,
    /// The bucket.
    pub objects: crate::MemoryObjects,
    /// The `s3like` datasource (bucket [`BACKUP_BUCKET`]).
    pub datasource: eyrie_core::Datasource,
}

/// The bucket of [`backup_rig`]'s datasource.
pub const BACKUP_BUCKET: &str = "acme-backups";

/// Adds an `s3like` datasource to the tenant's project, makes it the
/// `backup_dest_datasource` of prod, stage and dev, and builds a
/// [`BackupRig`] around it.
pub async fn backup_rig(t: &Tenant) -> Result<BackupRig> {
    use eyrie_core::model::ScopeConfigPatch;
    use eyrie_core::service::{NewDatasource, ScopePatch};
    let objects = crate::MemoryObjects::new();
    let eyrie = t.eyrie.clone().with_backup_objects(Arc::new(objects.clone()));
    let input =
        NewDatasource::new("Backups".parse()?, eyrie_core::DataType::S3like, eyrie_core::DatasourceUsage::RemoteBackup)
            .with_endpoint("https://s3.acme.example".parse()?)
            .with_bucket(BACKUP_BUCKET.to_owned())
            .with_credentials(SecretString::new("AKIDACME:acme-secret-key"));
    let datasource = eyrie.create_datasource(t.admin, t.project.id, input).await?;
    for scope in [&t.prod, &t.stage, &t.dev] {
        let config = ScopeConfigPatch::default().with_backup_dest_datasource(Some(datasource.id));
        let patch = ScopePatch::default().with_config(config);
        eyrie.update_scope(t.owner, scope.id, patch).await?;
    }
    let executor = crate::RecordingExecutor::new().with_objects(objects.clone());
    let handlers = eyrie_core::jobs::HandlerRegistry::with_executor(Arc::new(executor.clone()));
    let engine = eyrie_core::Engine::new(eyrie.clone(), handlers, eyrie_core::EngineConfig::default());
    Ok(BackupRig { eyrie, engine, executor, objects, datasource })
}

/// Builds [`Tenant`] through the service on `store`.
pub async fn typical_tenant(store: Arc<dyn Store>) -> Result<Tenant> {
    let (eyrie, clock) = service(store.clone());
    let root = actor(&user(&eyrie, "Root", "root@platform.example", true).await?);
    let owner_u = user(&eyrie, "Olivia Owner", "olivia@acme.example", false).await?;
    let owner = actor(&owner_u);
    let mut clusters = Vec::new();
    for (name, uid) in [("EU 1", "uid-eu-1"), ("EU 2", "uid-eu-2")] {
        let c = eyrie
            .create_cluster(
                root,
                NewCluster::new(
                    name.parse()?,
                    uid.parse()?,
                    NewConnection::Kubeconfig(SecretString::new(format!("kubeconfig-of-{uid}"))),
                ),
            )
            .await?;
        eyrie.transition_cluster(root, c.id, ClusterState::Init).await?;
        clusters.push(eyrie.transition_cluster(root, c.id, ClusterState::Active).await?);
    }
    let clusters: [Cluster; 2] = [clusters[0].clone(), clusters[1].clone()];
    let project =
        eyrie.create_project(owner, NewProject::new("Acme".parse()?).with_domain("acme.example".parse()?)).await?;
    let group = eyrie
        .create_group(
            owner,
            project.id,
            NewGroup::new("Shop".parse()?, GroupType::Odoo, clusters.iter().map(|c| c.id).collect())
                .with_settings(Settings::default().with_replicas(2)),
        )
        .await?;
    let prod = eyrie
        .create_scope(
            owner,
            group.id,
            new_scope(
                "prod",
                ScopeConfig::default()
                    .with_priority(30)
                    .with_deployment_limit(3)
                    .with_deployment_cluster_ids(BTreeSet::from([clusters[0].id]))
                    .with_monitor(true),
            )?,
        )
        .await?;
    let stage = eyrie
        .create_scope(
            owner,
            group.id,
            new_scope(
                "stage",
                ScopeConfig::default().with_priority(20).with_root_subdomain("stage.acme.example".parse()?),
            )?,
        )
        .await?;
    let dev = eyrie
        .create_scope(
            owner,
            group.id,
            new_scope(
                "dev",
                ScopeConfig::default()
                    .with_priority(10)
                    .with_allow_drop(true)
                    .with_role_to_admin(Role::Developer)
                    .with_deployment_pause_after_seconds(8 * 3600)
                    .with_deployment_drop_after_seconds(7 * 86_400),
            )?,
        )
        .await?;
    let mut members = Vec::new();
    for (name, email, role) in [
        ("Ada Admin", "ada@acme.example", Role::Admin),
        ("Dev Developer", "dev@acme.example", Role::Developer),
        ("Uma User", "uma@acme.example", Role::User),
    ] {
        let u = user(&eyrie, name, email, false).await?;
        let inv = eyrie.invite(owner, project.id, u.email.clone(), role).await?;
        eyrie.answer_invitation(actor(&u), inv.id, true).await?;
        members.push(actor(&u));
    }
    let shop = eyrie.create_deployment(owner, group.id, new_deployment("shop", &prod)?).await?;
    let preview = eyrie.create_deployment(owner, group.id, new_deployment("preview", &stage)?).await?;
    let sandbox = eyrie.create_deployment(owner, group.id, new_deployment("sandbox", &dev)?).await?;
    if let Actor::User { id, .. } = members[2] {
        eyrie.set_override(owner, project.id, id, OverrideTarget::Deployment(sandbox.id), Role::Developer).await?;
    }
    Ok(Tenant {
        eyrie,
        store,
        clock,
        root,
        owner,
        admin: members[0],
        developer: members[1],
        viewer: members[2],
        project,
        clusters,
        group,
        prod,
        stage,
        dev,
        shop,
        preview,
        sandbox,
    })
}

/// Secrets [`write_known_secrets`] stores (sealed); a raw scan of a store's
/// files must find none of them.
pub const KNOWN_SECRETS: [&str; 4] =
    ["kubeconfig-of-uid-eu-1", "kubeconfig-of-uid-eu-2", "pw-SEALME-7f3a", "AKIA-SEALME-ACCESS-9c1e"];

/// Plain fields [`write_known_secrets`] stores as they are: a raw scan must
/// find them, which shows the scan can see plaintext at all.
pub const KNOWN_PLAIN: [&str; 2] = ["acme-backups-bucket", "olivia@acme.example"];

/// Builds the typical tenant (two clusters with kubeconfigs) and adds a
/// datasource with a connection string and credentials, all through the
/// service, so every secret of [`KNOWN_SECRETS`] passes through sealing.
pub async fn write_known_secrets(store: Arc<dyn Store>) -> Result<Tenant> {
    use eyrie_core::service::NewDatasource;
    let t = typical_tenant(store).await?;
    let input =
        NewDatasource::new("Backups".parse()?, eyrie_core::DataType::S3like, eyrie_core::DatasourceUsage::RemoteBackup)
            .with_endpoint("https://s3.example".parse()?)
            .with_bucket(KNOWN_PLAIN[0].to_owned())
            .with_connection(SecretString::new(format!("postgres://u:{}@db/x", KNOWN_SECRETS[2])))
            .with_credentials(SecretString::new(KNOWN_SECRETS[3]));
    t.eyrie.create_datasource(t.admin, t.project.id, input).await?;
    Ok(t)
}

/// Which of `needles` occur in `haystack`.
pub fn occurrences<'a>(haystack: &[u8], needles: &[&'a str]) -> Vec<&'a str> {
    needles.iter().copied().filter(|n| haystack.windows(n.len()).any(|w| w == n.as_bytes())).collect()
}

/// Every byte of every regular file under `dir`, concatenated.
pub fn read_all_files(dir: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(read_all_files(&path)?);
        } else {
            out.extend(std::fs::read(&path)?);
        }
    }
    Ok(out)
}
