//! `odoo`: a Secret with `odoo.conf`, a PVC for the filestore, a Deployment,
//! a Service and (with a host) an Ingress.
//!
//! - `odoo.conf` holds every param except the ones Eyrie reads itself
//!   (`storage_class`, `ingress_class`, `tls_secret`, `filestore_access_mode`,
//!   and the backup Job's `backup_image`, `backup_s3_image`, `backup_script`,
//!   `restore_script`, see [`crate::backups::odoo`]);
//!   `db_filter` is written as Odoo's `dbfilter`. Eyrie adds `data_dir`,
//!   `proxy_mode` and `gevent_port`. Secret values (`admin_passwd`,
//!   `db_password`) appear only when handed to the renderer. A value with a
//!   line break is refused: it could inject options.
//! - The Secret is mounted at `/etc/odoo` (where the official image reads its
//!   configuration) and its checksum is on the pod template, so a change
//!   rolls the pods.
//! - The filestore PVC is `ReadWriteOnce` unless `filestore_access_mode`
//!   says otherwise; with `ReadWriteOnce` the Deployment uses the `Recreate`
//!   strategy, since a second pod could not mount the volume. More than one
//!   replica needs `ReadWriteMany`.
//! - Without an image, `odoo:18.0` runs.

use std::collections::BTreeMap;

use eyrie_core::Result;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, Secret, SecretVolumeSource,
    Service, ServicePort, ServiceSpec, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use serde_json::Value;

use super::{Ctx, Object, invalid, put, to_json};
use crate::kinds::Kind;
use crate::{labels, names};

/// The image run when the deployment names none.
pub const DEFAULT_IMAGE: &str = "odoo:18.0";
const HTTP_PORT: i32 = 8069;
const GEVENT_PORT: i32 = 8072;
/// Params Eyrie reads itself; they are not written to `odoo.conf`.
const EYRIE_PARAMS: [&str; 8] = [
    "storage_class",
    "ingress_class",
    "tls_secret",
    "filestore_access_mode",
    "backup_image",
    "backup_s3_image",
    "backup_script",
    "restore_script",
];
/// Secrets written to `odoo.conf` when given.
const SECRET_OPTIONS: [&str; 2] = ["admin_passwd", "db_password"];

pub(super) fn render(ctx: &Ctx<'_>) -> Result<Vec<Object>> {
    let config_name = format!("{}-config", ctx.base);
    let filestore_name = format!("{}-filestore", ctx.base);
    let conf = odoo_conf(ctx)?;
    let conf_hash = format!("{:016x}", names::fnv1a(conf.as_bytes()));
    let access_mode = ctx.param("filestore_access_mode").unwrap_or("ReadWriteOnce");
    if !matches!(access_mode, "ReadWriteOnce" | "ReadWriteMany" | "ReadWriteOncePod") {
        return Err(invalid(
            "filestore_access_mode",
            access_mode,
            "must be ReadWriteOnce, ReadWriteMany or ReadWriteOncePod",
        ));
    }

    let secret = Secret {
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([("odoo.conf".to_owned(), ByteString(conf.into_bytes()))])),
        ..Secret::default()
    };

    let pvc = PersistentVolumeClaim {
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![access_mode.to_owned()]),
            storage_class_name: ctx.param("storage_class").map(str::to_owned),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(ctx.storage()))])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    };

    let port = |name: &str, port: i32| ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol: Some("TCP".to_owned()),
        ..ContainerPort::default()
    };
    let container = Container {
        name: "odoo".to_owned(),
        image: Some(ctx.image_or(DEFAULT_IMAGE)),
        ports: Some(vec![port("http", HTTP_PORT), port("longpolling", GEVENT_PORT)]),
        resources: Some(ctx.resources()),
        volume_mounts: Some(vec![
            VolumeMount { name: "filestore".to_owned(), mount_path: "/var/lib/odoo".to_owned(), ..Default::default() },
            VolumeMount {
                name: "config".to_owned(),
                mount_path: "/etc/odoo".to_owned(),
                read_only: Some(true),
                ..Default::default()
            },
        ]),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/web/health".to_owned()),
                port: IntOrString::String("http".to_owned()),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(10),
            ..Probe::default()
        }),
        ..Container::default()
    };
    let filestore = Volume {
        name: "filestore".to_owned(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: filestore_name.clone(),
            ..Default::default()
        }),
        ..Volume::default()
    };
    let config = Volume {
        name: "config".to_owned(),
        secret: Some(SecretVolumeSource { secret_name: Some(config_name.clone()), ..Default::default() }),
        ..Volume::default()
    };
    let strategy = if access_mode == "ReadWriteMany" { "RollingUpdate" } else { "Recreate" };
    let deployment = Deployment {
        spec: Some(DeploymentSpec {
            replicas: Some(ctx.running_replicas()?),
            // Selector and pod labels are put in from the context below.
            selector: LabelSelector::default(),
            strategy: Some(DeploymentStrategy { type_: Some(strategy.to_owned()), ..DeploymentStrategy::default() }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    annotations: Some(BTreeMap::from([(labels::CONFIG_HASH.to_owned(), conf_hash)])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    // Containers and volumes are put in below, each
                    // serialized from the stack: a `Vec` of these large
                    // structs costs a large allocation per render.
                    containers: Vec::new(),
                    // The official image runs as `odoo` (uid and gid 101).
                    security_context: Some(PodSecurityContext { fs_group: Some(101), ..Default::default() }),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };

    let service_port = |name: &str, port: i32| ServicePort {
        name: Some(name.to_owned()),
        port,
        target_port: Some(IntOrString::String(name.to_owned())),
        protocol: Some("TCP".to_owned()),
        ..ServicePort::default()
    };
    let service = Service {
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            ports: Some(vec![service_port("http", HTTP_PORT), service_port("longpolling", GEVENT_PORT)]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };

    let mut deployment = ctx.object(Kind::Deployment, &ctx.base, &deployment)?;
    put(&mut deployment.body, &["spec", "selector"], "matchLabels", ctx.selector())?;
    put(&mut deployment.body, &["spec", "template", "metadata"], "labels", ctx.labels())?;
    let pod = ["spec", "template", "spec"];
    put(&mut deployment.body, &pod, "containers", Value::Array(vec![to_json(&container)?]))?;
    put(&mut deployment.body, &pod, "volumes", Value::Array(vec![to_json(&filestore)?, to_json(&config)?]))?;
    let mut service = ctx.object(Kind::Service, &ctx.base, &service)?;
    put(&mut service.body, &["spec"], "selector", ctx.selector())?;
    let mut objects = vec![
        ctx.object(Kind::Secret, &config_name, &secret)?,
        ctx.object(Kind::PersistentVolumeClaim, &filestore_name, &pvc)?,
        deployment,
        service,
    ];
    objects.extend(ctx.ingress(&[("/websocket", "longpolling"), ("/", "http")])?);
    Ok(objects)
}

/// The `odoo.conf` of the deployment.
fn odoo_conf(ctx: &Ctx<'_>) -> Result<String> {
    let mut options: BTreeMap<String, String> = BTreeMap::from([
        ("data_dir".to_owned(), "/var/lib/odoo".to_owned()),
        ("proxy_mode".to_owned(), "True".to_owned()),
        ("gevent_port".to_owned(), GEVENT_PORT.to_string()),
    ]);
    for (key, value) in &ctx.desired.effective.params {
        if EYRIE_PARAMS.contains(&key.as_str()) {
            continue;
        }
        let option = if key == "db_filter" { "dbfilter" } else { key.as_str() };
        if SECRET_OPTIONS.contains(&option) {
            return Err(invalid("params", key, "secret options are given as secrets, not as params"));
        }
        options.insert(option.to_owned(), value.value.clone());
    }
    for name in SECRET_OPTIONS {
        if let Some(secret) = ctx.secrets.get(name) {
            options.insert(name.to_owned(), secret.expose().to_owned());
        }
    }
    let mut conf = String::from("[options]\n");
    for (key, value) in &options {
        if value.contains(['\n', '\r']) {
            // Name the option, never the value: it may be a secret.
            return Err(invalid("params", key, "values must not contain line breaks"));
        }
        for part in [key.as_str(), " = ", value.as_str(), "\n"] {
            conf.push_str(part);
        }
    }
    Ok(conf)
}
