//! `pgo`: one Crunchy `PostgresCluster`
//! (`postgres-operator.crunchydata.com/v1beta1`).
//!
//! - `postgresVersion` from the `postgres_version` param (the built-in
//!   default is 16), checked against the schema's range 11–18.
//! - One instance set `pg` with the effective replicas (at least 1, as the
//!   schema requires), resources and a `ReadWriteOnce` data volume of the
//!   effective storage size.
//! - `spec.image` only when the deployment names an image; otherwise the
//!   operator picks its default for the version.
//! - Paused is the operator's `shutdown: true` (instances scaled to zero,
//!   volumes kept); it is always written, so a resume sets it back to false.
//! - `spec.metadata.labels` hands the id labels to the objects the operator
//!   makes. `spec.backups` is not rendered here: the first backup adds the
//!   pgBackRest repository under its own field manager (see
//!   [`crate::backups::pgo`]), so a reconcile keeps it.

use eyrie_core::Result;
use serde_json::{Map, Value, json};

use super::{Ctx, Object, Run, invalid, json_object};
use crate::kinds::Kind;

/// The instance set name.
pub const INSTANCE_SET: &str = "pg";

pub(super) fn render(ctx: &Ctx<'_>) -> Result<Vec<Object>> {
    let version_text = ctx.param("postgres_version").unwrap_or("16");
    let version = match version_text.parse::<i64>() {
        Ok(v) if (11..=18).contains(&v) => v,
        _ => return Err(invalid("postgres_version", version_text, "must be a PostgreSQL major version from 11 to 18")),
    };
    let replicas = ctx.replicas()?;
    if replicas < 1 {
        return Err(invalid("replicas", replicas, "a PostgresCluster needs at least one replica"));
    }
    let mut volume = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": { "requests": { "storage": ctx.storage() } },
    });
    if let (Some(class), Some(map)) = (ctx.param("storage_class"), volume.as_object_mut()) {
        map.insert("storageClassName".to_owned(), Value::String(class.to_owned()));
    }
    let mut spec = Map::new();
    spec.insert("postgresVersion".to_owned(), json!(version));
    if let Some(image) = &ctx.desired.image {
        spec.insert("image".to_owned(), Value::String(image.to_string()));
    }
    spec.insert("shutdown".to_owned(), Value::Bool(ctx.run == Run::Paused));
    spec.insert("metadata".to_owned(), json_object([("labels", ctx.id_labels())]));
    let instance = json_object([
        ("name", Value::String(INSTANCE_SET.to_owned())),
        ("replicas", json!(replicas)),
        ("resources", ctx.resources_json()?),
        ("dataVolumeClaimSpec", volume),
    ]);
    spec.insert("instances".to_owned(), Value::Array(vec![instance]));
    let body = json_object([
        ("apiVersion", Value::String(Kind::PostgresCluster.api_version())),
        ("kind", Value::String(Kind::PostgresCluster.kind().to_owned())),
        ("metadata", ctx.meta(&ctx.base)),
        ("spec", Value::Object(spec)),
    ]);
    Ok(vec![Object::from_value(Kind::PostgresCluster, &ctx.base, Some(ctx.namespace), body)])
}
