//! `pxc`: one Percona `PerconaXtraDBCluster` (`pxc.percona.com/v1`).
//!
//! - `crVersion` from the `cr_version` param, else [`DEFAULT_CR_VERSION`]:
//!   it must match the installed operator. The defaults name one release of
//!   the operator (1.19.0) and the images it ships with, never a floating
//!   tag, so a cluster does not change under a running deployment.
//! - `pxc.size` is the effective replicas (default 3), with the image of the
//!   deployment or [`DEFAULT_IMAGE`], its resources and a `ReadWriteOnce`
//!   volume of the effective storage size.
//! - HAProxy in front, 2 pods (1 when the cluster has a single node), image
//!   from the `haproxy_image` param or [`DEFAULT_HAPROXY_IMAGE`].
//! - The operator refuses sizes below 3 or even sizes, and fewer than 2
//!   proxies, unless `unsafeFlags` say so: they are set exactly when needed.
//! - `secretsName` is `<base>-secrets`; the operator generates the
//!   passwords there. Eyrie does not write it.
//! - Paused is the operator's `pause: true`; always written.
//! - `spec.backup` is not rendered here: the first backup adds its storage
//!   and image under its own field manager (see [`crate::backups::pxc`]).

use eyrie_core::Result;
use serde_json::{Map, Value, json};

use super::{Ctx, Object, Run, invalid, json_object};
use crate::kinds::Kind;

/// The custom resource version written when no `cr_version` param is set:
/// the operator release 1.19.0.
pub const DEFAULT_CR_VERSION: &str = "1.19.0";
/// The database image when the deployment names none: PXC 8.0 as released
/// with operator 1.19.0.
pub const DEFAULT_IMAGE: &str = "percona/percona-xtradb-cluster:8.0.44-35.1";
/// The HAProxy image when no `haproxy_image` param is set (operator 1.19.0).
pub const DEFAULT_HAPROXY_IMAGE: &str = "percona/haproxy:2.8.17";

pub(super) fn render(ctx: &Ctx<'_>) -> Result<Vec<Object>> {
    let size = ctx.replicas()?;
    if size < 1 {
        return Err(invalid("replicas", size, "a PerconaXtraDBCluster needs at least one node"));
    }
    let proxies = if size == 1 { 1 } else { 2 };
    let mut volume = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": { "requests": { "storage": ctx.storage() } },
    });
    if let (Some(class), Some(map)) = (ctx.param("storage_class"), volume.as_object_mut()) {
        map.insert("storageClassName".to_owned(), Value::String(class.to_owned()));
    }
    let mut unsafe_flags = Map::new();
    if size < 3 || size % 2 == 0 {
        unsafe_flags.insert("pxcSize".to_owned(), Value::Bool(true));
    }
    if proxies < 2 {
        unsafe_flags.insert("proxySize".to_owned(), Value::Bool(true));
    }
    let mut spec = Map::new();
    spec.insert("crVersion".to_owned(), json!(ctx.param("cr_version").unwrap_or(DEFAULT_CR_VERSION)));
    spec.insert("secretsName".to_owned(), json!(format!("{}-secrets", ctx.base)));
    spec.insert("pause".to_owned(), Value::Bool(ctx.run == Run::Paused));
    if !unsafe_flags.is_empty() {
        spec.insert("unsafeFlags".to_owned(), Value::Object(unsafe_flags));
    }
    let pxc = json_object([
        ("size", json!(size)),
        ("image", Value::String(ctx.image_or(DEFAULT_IMAGE))),
        ("labels", ctx.id_labels()),
        ("resources", ctx.resources_json()?),
        ("volumeSpec", json_object([("persistentVolumeClaim", volume)])),
    ]);
    spec.insert("pxc".to_owned(), pxc);
    let haproxy = json_object([
        ("enabled", Value::Bool(true)),
        ("size", json!(proxies)),
        ("image", Value::String(ctx.param("haproxy_image").unwrap_or(DEFAULT_HAPROXY_IMAGE).to_owned())),
        ("labels", ctx.id_labels()),
    ]);
    spec.insert("haproxy".to_owned(), haproxy);
    let body = json_object([
        ("apiVersion", Value::String(Kind::PerconaXtraDbCluster.api_version())),
        ("kind", Value::String(Kind::PerconaXtraDbCluster.kind().to_owned())),
        ("metadata", ctx.meta(&ctx.base)),
        ("spec", Value::Object(spec)),
    ]);
    Ok(vec![Object::from_value(Kind::PerconaXtraDbCluster, &ctx.base, Some(ctx.namespace), body)])
}
