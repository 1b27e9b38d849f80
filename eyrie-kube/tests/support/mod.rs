//! Shared by the integration tests: fixtures, a scripted API server and a
//! structural OpenAPI v3 checker.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod conversation;
pub mod openapi;
pub mod server;

use std::sync::Arc;

use eyrie_core::executor::{ClusterAccess, ClusterCredentials, DesiredDeployment};
use eyrie_core::{Clock, ClusterId, DeploymentId, GroupType, LifecycleState, Timestamp, UserId};
use eyrie_kube::demo;
use eyrie_testkit::builders;

/// A clock that always says `T0 + 60 s`.
#[derive(Debug)]
pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        builders::T0.plus_seconds(60)
    }
}

pub fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock)
}

/// Access to cluster 1 (unused by an executor with a fixed client).
pub fn access() -> ClusterAccess {
    ClusterAccess {
        cluster_id: ClusterId(1),
        slug: "cluster-1".parse().unwrap(),
        credentials: ClusterCredentials::InCluster,
    }
}

/// One deployment of `group_type` in project `acme` (domain `acme.example`),
/// group `group_slug`, scope `prod`, slug `deployment_slug`, id `id`, with
/// a few settings per type.
pub fn deployment(group_type: GroupType, group_slug: &str, deployment_slug: &str, id: u64) -> DesiredDeployment {
    let mut project = builders::project(7, UserId(1));
    project.slug = "acme".parse().unwrap();
    project.domain = Some("acme.example".parse().unwrap());
    let mut group = builders::group(40, &project, group_type, &[1]);
    group.slug = group_slug.parse().unwrap();
    let scope = builders::scope(41, &group, "prod");
    let mut d = builders::deployment(id, &group, &scope, deployment_slug);
    d.slug = deployment_slug.parse().unwrap();
    d.state = LifecycleState::Deploy;
    let image = match group_type {
        GroupType::Odoo => {
            group.settings.params.insert("workers".into(), "3".into());
            group.settings.params.insert("ingress_class".into(), "nginx".into());
            d.settings.storage_size = Some("5Gi".parse().unwrap());
            Some("registry.acme.example/odoo:18.0".parse().unwrap())
        }
        GroupType::Pgo => {
            d.settings.replicas = Some(2);
            d.settings.params.insert("postgres_version".into(), "17".into());
            d.settings.params.insert("storage_class".into(), "fast".into());
            None
        }
        GroupType::Pxc => {
            d.settings.cpu_limit = Some("2".parse().unwrap());
            None
        }
        GroupType::None => {
            d.settings.params.insert("port".into(), "8000".into());
            Some("ghcr.io/acme/api:1.4.2".parse().unwrap())
        }
    };
    demo::desired(&project, &group, &scope, &d, image).unwrap()
}

/// The same as [`deployment`] with 63-character slugs and the largest ids
/// (one per group type, so that they are different deployments).
pub fn long_slugs(group_type: GroupType) -> DesiredDeployment {
    let offset = GroupType::ALL.iter().position(|t| *t == group_type).unwrap() as u64;
    let group = format!("g{}", "-long-group".repeat(6)).chars().take(63).collect::<String>();
    let dep = format!("d{}", "-long-deployment".repeat(4)).chars().take(63).collect::<String>();
    let group = group.trim_end_matches('-').to_owned();
    let dep = dep.trim_end_matches('-').to_owned();
    let d = deployment(group_type, &group, &dep, u64::MAX - offset);
    assert_eq!(d.deployment_id, DeploymentId(u64::MAX - offset));
    d
}

/// The secret access key of [`storage`]: tests search rendered objects for it.
pub const SECRET_KEY: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY";
/// The access key id of [`storage`].
pub const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// A MinIO-style bucket with path-style addressing.
pub fn storage() -> eyrie_core::executor::ObjectStorage {
    eyrie_core::executor::ObjectStorage {
        endpoint: Some("https://minio.acme.example:9000".into()),
        region: "eu-west-1".into(),
        bucket: "eyrie-backups".into(),
        path_style: true,
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: eyrie_core::SecretString::new(SECRET_KEY),
    }
}

/// `<namespace uid>/<deployment id>/` of `d` (the uid is in the namespace name).
pub fn deployment_prefix(d: &DesiredDeployment) -> String {
    let uid = d.namespace.trim_start_matches("eyrie-");
    format!("{uid}/{:016x}/", d.deployment_id.0)
}

/// Backup `id` of `d` into [`storage`].
pub fn target(d: &DesiredDeployment, id: u64) -> eyrie_core::executor::BackupTarget {
    let deployment_prefix = deployment_prefix(d);
    eyrie_core::executor::BackupTarget {
        backup_id: eyrie_core::BackupId(id),
        kind: eyrie_core::BackupKind::Manual,
        prefix: format!("{deployment_prefix}{id:016x}/"),
        deployment_prefix,
        storage: storage(),
    }
}

/// A restore, run by job `run`, of the backup `id` of `of` found at `location`.
pub fn source(of: &DesiredDeployment, id: u64, run: u64, location: &str) -> eyrie_core::executor::RestoreSource {
    eyrie_core::executor::RestoreSource {
        run: eyrie_core::JobId(run),
        backup_id: eyrie_core::BackupId(id),
        source_deployment: of.deployment_id,
        location: location.to_owned(),
        object_keys: Vec::new(),
        ended_at: Some(Timestamp(1_767_225_600_250)),
        storage: storage(),
    }
}
