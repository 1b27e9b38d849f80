//! Quickstart: the main job of Eyrie, embedded on its default store (redb).
//!
//! ```sh
//! cargo run --example quickstart                  # data in ./eyrie-data
//! cargo run --example quickstart -- /tmp/eyrie    # or a directory of your choice (or EYRIE_DATA)
//! cargo run --example quickstart -- --store sled  # the same on sled
//! cargo run --example quickstart -- --store postgres postgres://user@127.0.0.1:5432/eyrie
//! ```
//!
//! A tenant is created through the service (a project with its namespace, an
//! odoo group with prod and dev scopes, two deployments), then each deployment
//! is initialized and deployed through the job engine. The executor writes
//! each cluster's manifests as YAML under `<data>/manifests`, the way a GitOps
//! tool (Argo CD, Flux) would pick them up. Every later run finds the tenant,
//! runs no job and rewrites no file, and says so.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eyrie::prelude::*;
use eyrie::{Email, ValidationError};

#[tokio::main]
async fn main() -> Result<()> {
    // `RUST_LOG=debug` shows a span per service call, job, step and executor call.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .init();
    let (data, store) = args()?;
    let mut builder = Eyrie::builder().data_dir(&data);
    match store {
        Backend::Redb => {}
        Backend::Sled => builder = builder.sled(data.join("sled")),
        Backend::Postgres(url) => builder = builder.postgres(url),
    }
    let eyrie = builder.build().await?;
    let manifests = Arc::new(ManifestDir::new(data.join("manifests"), Arc::new(SystemClock)));
    let engine = Engine::builder(&eyrie).executor(manifests.clone()).build()?;

    let owner = user(&eyrie, "Olivia Owner", "olivia@acme.example", false).await?;
    let (project, deployments) = match eyrie.find_project(owner, &"acme".parse()?).await? {
        Some(p) => {
            println!("Found the tenant {} ({}): creating nothing.", p.name, p.id);
            let groups = eyrie.list_groups(owner, p.id).await?;
            let mut ds = Vec::new();
            for g in &groups {
                ds.extend(eyrie.list_deployments(owner, g.id).await?);
            }
            (p, ds)
        }
        None => create_tenant(&eyrie, owner).await?,
    };

    // Draft → initialize → deploy, each step a job of the engine.
    let mut jobs = 0;
    for d in &deployments {
        let d = eyrie.get_deployment(owner, d.id).await?;
        let next = match d.state {
            LifecycleState::Draft => vec![JobAction::Initialize, JobAction::Deploy],
            LifecycleState::Initialize => vec![JobAction::Deploy],
            _ => Vec::new(),
        };
        for action in next {
            let job = engine.submit(owner, d.id, action, BTreeMap::new()).await?;
            engine.run_until_idle().await?;
            let job = engine.get_job(owner, job.id).await?;
            jobs += 1;
            println!("{action} {}: {}", d.slug, job.state);
            for step in &job.steps {
                println!("    {:<12} {:?} (attempts: {})", step.spec.name, step.state, step.attempts);
            }
            if job.state != JobState::Done {
                return Err(Error::backend(
                    format!("{action} of {} ended {}: {:?}", d.slug, job.state, job.error),
                    false,
                ));
            }
        }
    }
    let stats = manifests.stats();
    if jobs == 0 {
        println!("Every deployment of {} is deployed already: no job ran.", project.slug);
    }
    println!(
        "Manifests under {}: {} written, {} unchanged, {} removed this run.",
        manifests.root().display(),
        stats.written,
        stats.unchanged,
        stats.removed
    );

    if let Some(d) = deployments.first() {
        println!("Effective settings of {} (deployment → scope → group → default):", d.slug);
        for (name, value, source) in eyrie.effective(owner, d.id).await?.entries() {
            println!("    {name:<16} {value:<28} from {source}");
        }
    }
    Ok(())
}

/// The tenant: created through the service, so every rule and audit event applies.
async fn create_tenant(eyrie: &Eyrie, owner: Actor) -> Result<(Project, Vec<Deployment>)> {
    let root = user(eyrie, "Root", "root@platform.example", true).await?;
    let input = NewCluster::new("EU 1".parse()?, "eu-1".parse()?, NewConnection::InCluster);
    let cluster = eyrie.create_cluster(root, input).await?;
    for state in [ClusterState::Init, ClusterState::Active] {
        eyrie.transition_cluster(root, cluster.id, state).await?;
    }
    let input = NewProject::new("Acme".parse()?).with_domain("acme.example".parse()?);
    let project = eyrie.create_project(owner, input).await?;
    let group = NewGroup::new("Shop".parse()?, GroupType::Odoo, [cluster.id].into())
        .with_settings(Settings::default().with_replicas(2));
    let group = eyrie.create_group(owner, project.id, group).await?;
    let mut deployments = Vec::new();
    for (code, name, allow_drop) in [("prod", "shop", false), ("dev", "sandbox", true)] {
        let config = ScopeConfig::default().with_allow_drop(allow_drop);
        let scope = NewScope::new(code.parse()?, code.parse()?).with_config(config);
        let scope = eyrie.create_scope(owner, group.id, scope).await?;
        let input = NewDeployment::new(name.parse()?, scope.id).with_image_subscribed(true);
        deployments.push(eyrie.create_deployment(owner, group.id, input).await?);
    }
    println!("Created the tenant {} ({}) with {} deployments.", project.name, project.id, deployments.len());
    Ok((project, deployments))
}

/// The registered user with this address, registered on first use.
async fn user(eyrie: &Eyrie, name: &str, email: &str, platform_admin: bool) -> Result<Actor> {
    let email: Email = email.parse()?;
    let user = match eyrie.find_user_by_email(Actor::System, &email).await? {
        Some(u) => u,
        None => {
            eyrie
                .register_user(Actor::System, NewUser::new(name.parse()?, email).with_platform_admin(platform_admin))
                .await?
        }
    };
    eyrie.actor(user.id).await
}

/// Where the tenant is kept.
enum Backend {
    Redb,
    Sled,
    Postgres(String),
}

fn args() -> Result<(PathBuf, Backend)> {
    let mut dir = std::env::var_os("EYRIE_DATA").map(PathBuf::from);
    let mut store = Backend::Redb;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--store" => {
                store = match it.next().as_deref() {
                    Some("redb") => Backend::Redb,
                    Some("sled") => Backend::Sled,
                    Some("postgres") => match it.next() {
                        Some(url) => Backend::Postgres(url),
                        None => return Err(bad_arg("--store postgres takes the database URL".into())),
                    },
                    other => return Err(bad_arg(format!("--store takes redb, sled or postgres <url>, not {other:?}"))),
                }
            }
            other if !other.starts_with('-') => dir = Some(PathBuf::from(other)),
            other => return Err(bad_arg(format!("unknown argument {other}"))),
        }
    }
    Ok((dir.unwrap_or_else(|| PathBuf::from("eyrie-data")), store))
}

fn bad_arg(why: String) -> Error {
    Error::Invalid(ValidationError::field("argument", "", why))
}
