//! Quickstart: Eyrie embedded on its default store, redb.
//!
//! ```sh
//! cargo run --example quickstart                  # data in ./eyrie-data
//! cargo run --example quickstart -- /tmp/eyrie    # or a directory of your choice (or EYRIE_DATA)
//! cargo run --example quickstart -- --store sled  # the same on sled
//! ```
//!
//! The first run creates a tenant — a project with its namespace, an odoo
//! group with prod/stage/dev scopes, two clusters, members with different
//! roles and one override, a few deployments — through the service, so every
//! rule and every audit event applies. Every later run finds it and creates
//! nothing. Each run prints the hierarchy, one deployment's effective
//! settings with where each came from, and some authorization decisions.
//!
//! Nothing is sent to a cluster here: applying needs an executor such as
//! `eyrie-kube` and a real cluster.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use eyrie_core::service::{
    KeyRing, NewCluster, NewConnection, NewDeployment, NewGroup, NewProject, NewScope, NewUser, NonceSource,
    ScopeConfig, SealingKey,
};
use eyrie_core::storage::{Index, Store, StoreExt, UniqueKey};
use eyrie_core::{
    Action, Actor, Clock, ClusterState, Deployment, Error, Eyrie, GroupType, IdSource, OverrideTarget, Project, Result,
    Role, Scope, SecretString, Settings, Timestamp, User,
};

/// The system clock (the core never reads it itself).
#[derive(Debug)]
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
    }
}

/// Ids: a random 32-bit prefix per process and a counter, so two runs never collide.
#[derive(Debug)]
struct RandomIds {
    prefix: u64,
    next: AtomicU64,
}

impl IdSource for RandomIds {
    fn next_id(&self) -> u64 {
        (self.prefix << 32) | (self.next.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff)
    }
}

/// Nonces from the operating system's random source.
#[derive(Debug)]
struct OsNonces;

impl NonceSource for OsNonces {
    fn fill(&self, nonce: &mut [u8; 24]) {
        if getrandom::fill(nonce).is_err() {
            // Without OS randomness there is no safe nonce: stop rather than reuse one.
            std::process::abort();
        }
    }
}

fn io(e: std::io::Error) -> Error {
    Error::backend(e.to_string(), false)
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| Error::backend(format!("no OS randomness: {e}"), false))?;
    Ok(buf)
}

/// The sealing key lives beside the data for this example. A real
/// deployment keeps it in a secret manager, never next to the store.
fn sealing_key(dir: &Path) -> Result<SealingKey> {
    let path = dir.join("sealing.key");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_bytes::<32>()?;
            std::fs::write(&path, key).map_err(io)?;
            key.to_vec()
        }
        Err(e) => return Err(io(e)),
    };
    let key: [u8; 32] =
        bytes.try_into().map_err(|_| Error::backend(format!("{} is not a 32-byte key", path.display()), false))?;
    Ok(SealingKey::from_bytes(key))
}

struct Args {
    dir: PathBuf,
    sled: bool,
}

fn args() -> Result<Args> {
    let mut dir = std::env::var_os("EYRIE_DATA").map(PathBuf::from);
    let mut sled = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--store" => match it.next().as_deref() {
                Some("sled") => sled = true,
                Some("redb") => sled = false,
                other => return Err(Error::policy(format!("--store takes redb or sled, not {other:?}"))),
            },
            "--data" => dir = it.next().map(PathBuf::from),
            other if !other.starts_with('-') => dir = Some(PathBuf::from(other)),
            other => return Err(Error::policy(format!("unknown argument {other}"))),
        }
    }
    Ok(Args { dir: dir.unwrap_or_else(|| PathBuf::from("eyrie-data")), sled })
}

async fn open_store(a: &Args) -> Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&a.dir).map_err(io)?;
    if a.sled {
        let config = eyrie_store_sled::SledConfig::new(a.dir.join("sled"));
        let store =
            eyrie_store_sled::SledStore::open(config).await.map_err(|e| Error::backend(e.to_string(), false))?;
        Ok(Arc::new(store))
    } else {
        let config = eyrie_store_redb::RedbConfig::new(a.dir.join("eyrie.redb"));
        Ok(Arc::new(eyrie_store_redb::RedbStore::open(config).await?))
    }
}

async fn user(eyrie: &Eyrie, name: &str, email: &str, platform_admin: bool) -> Result<Actor> {
    let email: eyrie_core::Email = email.parse()?;
    let u = match eyrie.find_user_by_email(Actor::System, &email).await? {
        Some(u) => u,
        None => eyrie.register_user(Actor::System, NewUser { name: name.parse()?, email, platform_admin }).await?,
    };
    eyrie.actor(u.id).await
}

fn scope(code: &str, config: ScopeConfig) -> Result<NewScope> {
    Ok(NewScope { name: code.parse()?, code: code.parse()?, config })
}

fn deployment(name: &str, scope: &Scope) -> Result<NewDeployment> {
    Ok(NewDeployment {
        name: name.parse()?,
        slug: None,
        scope_id: scope.id,
        cluster_ids: Default::default(),
        image_subscribed: true,
        settings: Settings::default(),
    })
}

/// Creates the tenant through the service.
async fn create_tenant(eyrie: &Eyrie) -> Result<Project> {
    let root = user(eyrie, "Root", "root@platform.example", true).await?;
    let owner = user(eyrie, "Olivia Owner", "olivia@acme.example", false).await?;
    let mut clusters = Vec::new();
    for (name, uid) in [("EU 1", "uid-eu-1"), ("EU 2", "uid-eu-2")] {
        let kubeconfig = SecretString::new(format!("# kubeconfig of {uid} (sealed before it is stored)"));
        let input =
            NewCluster { name: name.parse()?, uid: uid.parse()?, connection: NewConnection::Kubeconfig(kubeconfig) };
        let c = eyrie.create_cluster(root, input).await?;
        eyrie.transition_cluster(root, c.id, ClusterState::Init).await?;
        clusters.push(eyrie.transition_cluster(root, c.id, ClusterState::Active).await?);
    }
    let project = eyrie
        .create_project(owner, NewProject { name: "Acme".parse()?, slug: None, domain: Some("acme.example".parse()?) })
        .await?;
    let group = eyrie
        .create_group(
            owner,
            project.id,
            NewGroup {
                name: "Shop".parse()?,
                slug: None,
                group_type: GroupType::Odoo,
                group_cluster_ids: clusters.iter().map(|c| c.id).collect(),
                settings: Settings { replicas: Some(2), ..Settings::default() },
            },
        )
        .await?;
    let prod_config = ScopeConfig {
        priority: 30,
        deployment_limit: Some(3),
        deployment_cluster_ids: [clusters[0].id].into(),
        settings: Settings { replicas: Some(3), memory_limit: Some("4Gi".parse()?), ..Settings::default() },
        ..ScopeConfig::default()
    };
    let prod = eyrie.create_scope(owner, group.id, scope("prod", prod_config)?).await?;
    let stage_config =
        ScopeConfig { priority: 20, root_subdomain: Some("stage.acme.example".parse()?), ..ScopeConfig::default() };
    let stage = eyrie.create_scope(owner, group.id, scope("stage", stage_config)?).await?;
    let dev_config = ScopeConfig {
        priority: 10,
        allow_drop: true,
        role_to_admin: Role::Developer,
        deployment_pause_after_seconds: Some(8 * 3600),
        ..ScopeConfig::default()
    };
    let dev = eyrie.create_scope(owner, group.id, scope("dev", dev_config)?).await?;
    for (name, email, role) in [
        ("Ada Admin", "ada@acme.example", Role::Admin),
        ("Dev Developer", "dev@acme.example", Role::Developer),
        ("Uma User", "uma@acme.example", Role::User),
    ] {
        let member = user(eyrie, name, email, false).await?;
        let invitation = eyrie.invite(owner, project.id, email.parse()?, role).await?;
        eyrie.answer_invitation(member, invitation.id, true).await?;
    }
    eyrie.create_deployment(owner, group.id, deployment("shop", &prod)?).await?;
    eyrie.create_deployment(owner, group.id, deployment("preview", &stage)?).await?;
    let sandbox = eyrie.create_deployment(owner, group.id, deployment("sandbox", &dev)?).await?;
    let uma = user(eyrie, "Uma User", "uma@acme.example", false).await?;
    if let Actor::User { id, .. } = uma {
        eyrie.set_override(owner, project.id, id, OverrideTarget::Deployment(sandbox.id), Role::Developer).await?;
    }
    Ok(project)
}

fn name_of(users: &[User], actor: Actor) -> String {
    match actor {
        Actor::User { id, .. } => users.iter().find(|u| u.id == id).map_or(id.to_string(), |u| u.name.to_string()),
        Actor::System => "system".into(),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let a = args()?;
    let store = open_store(&a).await?;
    let ring = KeyRing::new("quickstart-1", sealing_key(&a.dir)?, OsNonces)?;
    let prefix = u64::from(u32::from_be_bytes(random_bytes::<4>()?));
    let ids = RandomIds { prefix, next: AtomicU64::new(1) };
    let eyrie = Eyrie::new(store.clone(), Arc::new(SystemClock), Arc::new(ids), Arc::new(ring));
    let backend = if a.sled { "sled" } else { "redb" };

    let existing = store.find_unique::<Project>(&UniqueKey::ProjectSlug("acme".into())).await?;
    let project = match existing {
        Some(p) => {
            let records = store.dump().await?.len();
            println!(
                "Found the tenant from an earlier run in {} ({backend}): {records} records; creating nothing.",
                a.dir.display()
            );
            p.value
        }
        None => {
            let p = create_tenant(&eyrie).await?;
            let records = store.dump().await?.len();
            println!(
                "Created the tenant in {} ({backend}): {records} records, each change with its audit event.",
                a.dir.display()
            );
            p
        }
    };
    let owner = user(&eyrie, "", "olivia@acme.example", false).await?;
    let developer = user(&eyrie, "", "dev@acme.example", false).await?;
    let viewer = user(&eyrie, "", "uma@acme.example", false).await?;
    let users: Vec<User> = store.all::<User>().await?.into_iter().map(|v| v.value).collect();

    println!(
        "\nproject {} \"{}\" (owner {}), namespace {}",
        project.slug,
        project.name,
        name_of(&users, owner),
        eyrie_core::Namespace::name_for(project.namespace_uid)
    );
    // Deployment ids by slug, collected while printing the hierarchy.
    let mut by_slug = std::collections::BTreeMap::new();
    for group in eyrie.list_groups(owner, project.id).await? {
        println!("  group {} [{}] on {} cluster(s)", group.slug, group.group_type, group.group_cluster_ids.len());
        let deployments: Vec<Deployment> = eyrie.list_deployments(owner, group.id).await?;
        for s in eyrie.list_scopes(owner, group.id).await? {
            let limit = s.deployment_limit.map_or("unlimited".to_string(), |l| l.to_string());
            println!(
                "    scope {:<6} limit {limit:<9} allow_drop={:<5} role_to_admin={}",
                s.code, s.allow_drop, s.role_to_admin
            );
            for d in deployments.iter().filter(|d| d.scope_id == s.id) {
                println!("      deployment {:<8} {}", d.slug, d.state);
                by_slug.insert(d.slug.to_string(), d.id);
            }
        }
    }
    let members = store.count(Index::ProjectMembers(project.id)).await?;
    println!("  {members} members; {} audit events", eyrie.list_audit(owner, project.id).await?.len());

    let id_of = |slug: &str| by_slug.get(slug).copied().ok_or_else(|| Error::not_found("deployment", slug));
    let (shop_id, sandbox_id) = (id_of("shop")?, id_of("sandbox")?);
    println!("\neffective settings of shop (deployment → scope → group → default):");
    for (name, value, source) in eyrie.effective(viewer, shop_id).await?.entries() {
        let value = if name == "cluster_ids" { format!("{} cluster(s)", value.split(',').count()) } else { value };
        println!("  {name:<16} {value:<24} from {source}");
    }

    println!("\nauthorization decisions:");
    let checks = [
        (developer, Action::Deploy, Some(shop_id)),
        (developer, Action::Upgrade, Some(shop_id)),
        (developer, Action::Upgrade, Some(sandbox_id)),
        (viewer, Action::Deploy, Some(shop_id)),
        (viewer, Action::Deploy, Some(sandbox_id)),
        (developer, Action::InviteMember, None),
        (owner, Action::DeleteProject, None),
    ];
    for (actor, action, target) in checks {
        let decision = match target {
            Some(d) => eyrie.explain_on_deployment(actor, action, d).await?,
            None => eyrie.explain_on_project(actor, action, project.id).await?,
        };
        let on = match target {
            Some(d) if d == shop_id => "shop",
            Some(_) => "sandbox",
            None => "the project",
        };
        println!("  {:<14} on {on:<11} {decision}", name_of(&users, actor));
    }
    Ok(())
}
