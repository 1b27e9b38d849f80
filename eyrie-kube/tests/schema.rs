//! SPEC §8: every rendered custom resource validates against the operator's
//! published schema in `../shared/crds/`; and the checker used for it fails
//! on wrong objects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::OnceLock;

use eyrie_core::executor::DesiredDeployment;
use eyrie_core::{GroupType, ImageRef};
use eyrie_kube::backups::{pgo, pxc};
use eyrie_kube::render::{DeploymentSecrets, Run, render};
use eyrie_kube::{Kind, Object, demo};
use serde_json::{Value, json};
use support::openapi::{crd_schema, validate};
use support::{deployment, long_slugs, source, target};

const PGO_CRD: &str = "postgres-operator.crunchydata.com_postgresclusters.yaml";
const PXC_CRD: &str = "pxc.percona.com_perconaxtradbclusters.yaml";
const PXC_BACKUP_CRD: &str = "pxc.percona.com_perconaxtradbclusterbackups.yaml";
const PXC_RESTORE_CRD: &str = "pxc.percona.com_perconaxtradbclusterrestores.yaml";

/// The schema of `kind`, read and parsed once per test binary.
fn schema_for(kind: Kind) -> &'static Value {
    static PGO: OnceLock<Value> = OnceLock::new();
    static PXC: OnceLock<Value> = OnceLock::new();
    static PXC_BACKUP: OnceLock<Value> = OnceLock::new();
    static PXC_RESTORE: OnceLock<Value> = OnceLock::new();
    match kind {
        Kind::PostgresCluster => PGO.get_or_init(|| crd_schema(PGO_CRD, &kind.api_version(), kind.kind())),
        Kind::PerconaXtraDbCluster => PXC.get_or_init(|| crd_schema(PXC_CRD, &kind.api_version(), kind.kind())),
        Kind::PerconaXtraDbClusterBackup => {
            PXC_BACKUP.get_or_init(|| crd_schema(PXC_BACKUP_CRD, &kind.api_version(), kind.kind()))
        }
        Kind::PerconaXtraDbClusterRestore => {
            PXC_RESTORE.get_or_init(|| crd_schema(PXC_RESTORE_CRD, &kind.api_version(), kind.kind()))
        }
        other => panic!("{other} is not a custom resource"),
    }
}

/// Every pgo and pxc variant the renderers produce.
fn custom_resource_cases() -> Vec<DesiredDeployment> {
    let mut cases: Vec<DesiredDeployment> =
        demo::quickstart().unwrap().into_iter().filter(|d| d.effective.group_type == GroupType::Pgo).collect();
    for group_type in [GroupType::Pgo, GroupType::Pxc] {
        cases.push(deployment(group_type, "db", "main", 200));
        cases.push(long_slugs(group_type));
        for replicas in [1, 2, 3, 4, 5] {
            let mut d = deployment(group_type, "db", "sized", 300 + u64::from(replicas));
            d.effective.replicas.value = replicas;
            cases.push(d);
        }
        let mut with_image = deployment(group_type, "db", "pinned", 400);
        with_image.image = Some(ImageRef::try_from("registry.acme.example/db/server:1.2.3").unwrap());
        with_image.effective.params.remove("storage_class");
        cases.push(with_image);
    }
    cases
}

fn custom_resources() -> Vec<Object> {
    let mut out = Vec::new();
    for d in custom_resource_cases() {
        for run in [Run::Running, Run::Paused] {
            let rendered = render(&d, run, &DeploymentSecrets::none()).unwrap();
            out.extend(rendered.objects.into_iter().filter(|o| o.kind.is_custom()));
        }
    }
    out
}

#[test]
fn every_rendered_custom_resource_validates_against_its_crd() {
    let resources = custom_resources();
    assert!(resources.iter().any(|o| o.kind == Kind::PostgresCluster));
    assert!(resources.iter().any(|o| o.kind == Kind::PerconaXtraDbCluster));
    for object in &resources {
        let errors = validate(schema_for(object.kind), &object.body);
        assert!(errors.is_empty(), "{object:?} does not validate:\n{}", errors.join("\n"));
    }
}

/// The CEL rules of the PGO schema that concern what Eyrie renders, checked
/// by hand (the structural checker does not evaluate CEL): every volume
/// claim has access modes and a storage request, instance names match the
/// schema's pattern.
#[test]
fn postgres_clusters_satisfy_the_cel_rules_that_concern_them() {
    for object in custom_resources().iter().filter(|o| o.kind == Kind::PostgresCluster) {
        for instance in object.body["spec"]["instances"].as_array().unwrap() {
            let claim = &instance["dataVolumeClaimSpec"];
            assert!(!claim["accessModes"].as_array().unwrap().is_empty(), "{object:?}");
            assert!(claim["resources"]["requests"]["storage"].is_string(), "{object:?}");
            let name = instance["name"].as_str().unwrap();
            let pattern_ok = name.is_empty()
                || (name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert!(pattern_ok, "{name}");
        }
        assert!(object.body["spec"]["config"]["parameters"]["ssl_groups"].is_null());
    }
}

/// A deliberate mistake made to a rendered body.
type Breaker = Box<dyn FnOnce(&mut Value)>;

fn first(kind: Kind) -> Object {
    custom_resources().into_iter().find(|o| o.kind == kind).unwrap()
}

fn errors_after(kind: Kind, change: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut body = first(kind).body;
    change(&mut body);
    validate(schema_for(kind), &body)
}

#[test]
fn the_checker_fails_on_wrong_postgres_clusters() {
    let pg = Kind::PostgresCluster;
    let cases: Vec<(&str, Breaker)> = vec![
        ("spec.bogus: unknown field (the API server would drop it)", Box::new(|b| b["spec"]["bogus"] = json!(1))),
        (
            "spec.instances[0].replicas: expected integer, got string",
            Box::new(|b| b["spec"]["instances"][0]["replicas"] = json!("two")),
        ),
        (
            "spec: missing required field postgresVersion",
            Box::new(|b| drop(b["spec"].as_object_mut().unwrap().remove("postgresVersion"))),
        ),
        ("spec.postgresVersion: 9 is below the minimum 11", Box::new(|b| b["spec"]["postgresVersion"] = json!(9))),
        (
            "spec.instances[0].replicas: 0 is below the minimum 1",
            Box::new(|b| b["spec"]["instances"][0]["replicas"] = json!(0)),
        ),
        (
            "spec.instances[0].minAvailable: expected an integer or a string, got boolean",
            Box::new(|b| b["spec"]["instances"][0]["minAvailable"] = json!(true)),
        ),
        (
            "spec.instances[0]: missing required field dataVolumeClaimSpec",
            Box::new(|b| drop(b["spec"]["instances"][0].as_object_mut().unwrap().remove("dataVolumeClaimSpec"))),
        ),
        ("spec.instances: expected array, got object", Box::new(|b| b["spec"]["instances"] = json!({}))),
        ("spec.image: null is not allowed", Box::new(|b| b["spec"]["image"] = Value::Null)),
        ("spec.shutdown: expected boolean, got string", Box::new(|b| b["spec"]["shutdown"] = json!("true"))),
    ];
    for (expected, change) in cases {
        let errors = errors_after(pg, change);
        assert!(errors.iter().any(|e| e == expected), "expected {expected:?}, got {errors:?}");
    }
}

#[test]
fn the_checker_fails_on_wrong_percona_clusters() {
    let pxc = Kind::PerconaXtraDbCluster;
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "spec.pxc.mysqlAllocator: \"glibc\" is not one of [\"jemalloc\",\"tcmalloc\"]",
            Box::new(|b| b["spec"]["pxc"]["mysqlAllocator"] = json!("glibc")),
        ),
        ("spec.pxc.labels.x: expected string, got integer", Box::new(|b| b["spec"]["pxc"]["labels"]["x"] = json!(5))),
        (
            "spec.pxc.size: 3000000000 does not fit int32",
            Box::new(|b| b["spec"]["pxc"]["size"] = json!(3_000_000_000u64)),
        ),
        (
            "spec.pxc.volumeSpec.persistentVolumeClaim.storageClass: unknown field (the API server would drop it)",
            Box::new(|b| b["spec"]["pxc"]["volumeSpec"]["persistentVolumeClaim"]["storageClass"] = json!("fast")),
        ),
        ("spec.pause: expected boolean, got integer", Box::new(|b| b["spec"]["pause"] = json!(1))),
    ];
    for (expected, change) in cases {
        let errors = errors_after(pxc, change);
        assert!(errors.iter().any(|e| e == expected), "expected {expected:?}, got {errors:?}");
    }
    // The root preserves unknown fields in this CRD, but nested objects with properties do not.
    assert!(errors_after(pxc, |b| b["extra"] = json!(1)).is_empty());
}

#[test]
fn the_checker_follows_preserve_unknown_fields_and_additional_properties() {
    let schema = json!({
        "type": "object",
        "properties": {
            "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"a": {"type": "string"}}},
            "any": {"type": "object", "additionalProperties": true},
            "maybe": {"type": "string", "nullable": true},
            "list": {"type": "array", "maxItems": 1, "items": {"type": "string", "maxLength": 2}},
        }
    });
    assert!(
        validate(&schema, &json!({"open": {"a": "x", "b": 1}, "any": {"k": [1]}, "maybe": null, "list": ["ok"]}))
            .is_empty()
    );
    assert_eq!(validate(&schema, &json!({"open": {"a": 1}})), ["open.a: expected string, got integer"]);
    assert_eq!(
        validate(&schema, &json!({"list": ["abc", "d"]})),
        ["list: more than 1 items", "list[0]: longer than 2"]
    );
}

#[test]
fn the_crd_files_are_the_operators_and_name_the_versions_rendered() {
    // A wrong version or kind is refused, not silently validated against nothing.
    let wrong =
        std::panic::catch_unwind(|| crd_schema(PGO_CRD, "postgres-operator.crunchydata.com/v9", "PostgresCluster"));
    assert!(wrong.is_err());
    let schema = schema_for(Kind::PostgresCluster);
    assert!(schema["properties"]["spec"]["properties"]["instances"].is_object());
}

/// `patch` merged into `base` as server-side apply merges fields the base
/// does not have (objects key by key; the rendered base has no backup
/// fields, so no list needs merging by key).
fn merged(base: &Value, patch: &Value) -> Value {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            let mut out = base.clone();
            for (key, value) in patch {
                let merged_value = match out.get(key) {
                    Some(existing) => merged(existing, value),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged_value);
            }
            Value::Object(out)
        }
        (_, patch) => patch.clone(),
    }
}

/// Every custom resource a backup or a restore sends, as the API server
/// validates it: the partial cluster applies merged into the rendered
/// cluster, the backup and restore resources as they are.
fn backup_resources() -> Vec<Object> {
    let mut out = Vec::new();
    for d in custom_resource_cases() {
        let base = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap().objects.remove(0);
        let t = target(&d, 0x2a);
        let sent = match d.effective.group_type {
            GroupType::Pgo => {
                let location = pgo::repo_location(&t.deployment_prefix);
                let mut sent = pgo::backup_objects(&d, &t).unwrap();
                sent.extend(pgo::restore_objects(&d, &source(&d, 0x2a, 0x99, &location)).unwrap());
                let mut aws = t.clone();
                aws.storage.endpoint = None;
                aws.storage.path_style = false;
                sent.extend(pgo::backup_objects(&d, &aws).unwrap());
                sent
            }
            GroupType::Pxc => {
                let location = format!("{}x-full/", t.prefix);
                let mut sent = pxc::backup_objects(&d, &t).unwrap();
                sent.extend(pxc::restore_objects(&d, &source(&d, 0x2a, 0x99, &location)).unwrap());
                sent
            }
            _ => unreachable!(),
        };
        for mut object in sent.into_iter().filter(|o| o.kind.is_custom()) {
            if object.kind == base.kind {
                object.body = merged(&base.body, &object.body);
            }
            out.push(object);
        }
    }
    out
}

#[test]
fn every_backup_and_restore_resource_validates_against_its_crd() {
    let resources = backup_resources();
    for kind in [
        Kind::PostgresCluster,
        Kind::PerconaXtraDbCluster,
        Kind::PerconaXtraDbClusterBackup,
        Kind::PerconaXtraDbClusterRestore,
    ] {
        assert!(resources.iter().any(|o| o.kind == kind), "no {kind} rendered");
    }
    for object in &resources {
        let errors = validate(schema_for(object.kind), &object.body);
        assert!(errors.is_empty(), "{object:?} does not validate:\n{}", errors.join("\n"));
    }
    // The schema's patterns, which the checker does not evaluate.
    for object in resources.iter().filter(|o| o.kind == Kind::PostgresCluster) {
        let pgbackrest = &object.body["spec"]["backups"]["pgbackrest"];
        let repo_names = pgbackrest["repos"].as_array().unwrap().iter().map(|r| &r["name"]);
        let used = [&pgbackrest["manual"]["repoName"], &pgbackrest["restore"]["repoName"]];
        for name in repo_names.chain(used.into_iter().filter(|n| !n.is_null())) {
            let name = name.as_str().unwrap();
            assert!(name.len() == 5 && name.starts_with("repo") && ('1'..='4').contains(&name.chars().nth(4).unwrap()));
        }
    }
}

#[test]
fn the_checker_fails_on_wrong_backup_resources() {
    let resources = backup_resources();
    let first = |kind: Kind| resources.iter().find(|o| o.kind == kind).unwrap().body.clone();
    let cases: Vec<(Kind, &str, Breaker)> = vec![
        (
            Kind::PerconaXtraDbClusterBackup,
            "spec.storage: unknown field (the API server would drop it)",
            Box::new(|b| b["spec"]["storage"] = json!("eyrie-s3")),
        ),
        (
            Kind::PerconaXtraDbClusterRestore,
            "spec.backupSource.s3.forcePathStyle: expected boolean, got string",
            Box::new(|b| b["spec"]["backupSource"]["s3"]["forcePathStyle"] = json!("yes")),
        ),
        (
            Kind::PerconaXtraDbCluster,
            "spec.backup.storages.eyrie-s3.s3.endpoint: unknown field (the API server would drop it)",
            Box::new(|b| b["spec"]["backup"]["storages"]["eyrie-s3"]["s3"]["endpoint"] = json!("x")),
        ),
        (
            Kind::PostgresCluster,
            "spec.backups.pgbackrest.repos[0].s3: missing required field endpoint",
            Box::new(|b| {
                drop(b["spec"]["backups"]["pgbackrest"]["repos"][0]["s3"].as_object_mut().unwrap().remove("endpoint"))
            }),
        ),
        (
            Kind::PostgresCluster,
            "spec.backups.pgbackrest.manual: missing required field repoName",
            Box::new(|b| b["spec"]["backups"]["pgbackrest"]["manual"] = json!({"options": []})),
        ),
    ];
    for (kind, expected, change) in cases {
        let mut body = first(kind);
        change(&mut body);
        let errors = validate(schema_for(kind), &body);
        assert!(errors.iter().any(|e| e == expected), "{kind}: expected {expected:?}, got {errors:?}");
    }
}
