//! Rendering: golden files per group type and for the longest slugs, and the
//! invariants of SPEC §8 on everything rendered.
//!
//! Golden files live in `tests/golden/`; regenerate them with
//! `EYRIE_BLESS=1 cargo test -p eyrie-kube --test render` and review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;

use eyrie_core::executor::DesiredDeployment;
use eyrie_core::{ErrorKind, GroupType, SecretString};
use eyrie_kube::render::{DeploymentSecrets, Run, render, to_yaml};
use eyrie_kube::{Kind, Object, demo, labels, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::Value;
use support::{deployment, long_slugs};

fn golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("EYRIE_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {path}; create it with EYRIE_BLESS=1 and review it"));
    assert!(actual == expected, "{name}: rendering differs from {path} (EYRIE_BLESS=1 regenerates it)\n{actual}");
}

fn rendered_yaml(d: &DesiredDeployment) -> String {
    render(d, Run::Running, &DeploymentSecrets::none()).unwrap().to_yaml().unwrap()
}

#[test]
fn golden_odoo() {
    golden("odoo", &rendered_yaml(&deployment(GroupType::Odoo, "erp", "shop", 77)));
}

#[test]
fn golden_pgo() {
    golden("pgo", &rendered_yaml(&deployment(GroupType::Pgo, "db", "main", 78)));
}

#[test]
fn golden_pxc() {
    golden("pxc", &rendered_yaml(&deployment(GroupType::Pxc, "mysql", "orders", 79)));
}

#[test]
fn golden_none() {
    golden("none", &rendered_yaml(&deployment(GroupType::None, "apps", "api", 80)));
}

#[test]
fn golden_long_slugs() {
    let mut objects = Vec::new();
    for group_type in GroupType::ALL {
        objects.extend(render(&long_slugs(group_type), Run::Running, &DeploymentSecrets::none()).unwrap().objects);
    }
    golden("long-slugs", &to_yaml(&objects).unwrap());
}

fn all_cases() -> Vec<DesiredDeployment> {
    let mut cases = demo::quickstart().unwrap();
    for (i, group_type) in GroupType::ALL.into_iter().enumerate() {
        cases.push(deployment(group_type, "grp", "dep", 100 + i as u64));
        cases.push(long_slugs(group_type));
    }
    cases
}

fn label_value_ok(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric())
            && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
}

#[test]
fn everything_carries_identity_labels_and_lives_in_the_project_namespace() {
    for d in all_cases() {
        for run in [Run::Running, Run::Paused] {
            let rendered = render(&d, run, &DeploymentSecrets::none()).unwrap();
            assert_eq!(rendered.namespace.name, d.namespace);
            let ns_labels = &rendered.namespace.body["metadata"]["labels"];
            assert_eq!(ns_labels[labels::MANAGED_BY], "eyrie");
            assert_eq!(ns_labels[labels::PROJECT], d.project_id.to_string());
            for object in &rendered.objects {
                let meta = &object.body["metadata"];
                assert_eq!(meta["namespace"], Value::String(d.namespace.clone()), "{object:?}");
                assert_eq!(meta["name"], Value::String(object.name.clone()), "{object:?}");
                assert_eq!(object.body["apiVersion"], object.kind.api_version(), "{object:?}");
                assert_eq!(object.body["kind"], object.kind.kind(), "{object:?}");
                let l = &meta["labels"];
                assert_eq!(l[labels::MANAGED_BY], "eyrie", "{object:?}");
                assert_eq!(l[labels::PROJECT], d.project_id.to_string(), "{object:?}");
                assert_eq!(l[labels::GROUP], d.group_id.to_string(), "{object:?}");
                assert_eq!(l[labels::DEPLOYMENT], d.deployment_id.to_string(), "{object:?}");
                for (key, value) in l.as_object().unwrap() {
                    assert!(label_value_ok(value.as_str().unwrap()), "{object:?}: label {key}={value}");
                }
                let a = &meta["annotations"];
                assert_eq!(a[labels::PROJECT_SLUG], d.project_slug.as_str(), "{object:?}");
                assert_eq!(a[labels::GROUP_SLUG], d.group_slug.as_str(), "{object:?}");
                assert_eq!(a[labels::DEPLOYMENT_SLUG], d.deployment_slug.as_str(), "{object:?}");
            }
        }
    }
}

#[test]
fn names_respect_kubernetes_limits_even_for_the_longest_slugs() {
    for d in all_cases() {
        let budget = names::budget(d.effective.group_type);
        let rendered = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap();
        for object in &rendered.objects {
            assert!(names::is_rfc1035_label(&object.name), "{object:?}");
            assert!(object.name.len() <= names::DNS_LABEL_MAX, "{object:?}");
            if object.kind.is_custom() {
                assert!(object.name.len() <= budget, "{object:?} over the budget {budget}");
            }
        }
    }
    let pxc = render(&long_slugs(GroupType::Pxc), Run::Running, &DeploymentSecrets::none()).unwrap();
    assert_eq!(pxc.objects[0].name.len(), 22);
}

#[test]
fn two_deployments_never_get_the_same_name() {
    let mut seen = BTreeSet::new();
    let mut cases = all_cases();
    // Same slugs cut to the same prefix, and slug pairs that join the same way.
    cases.push(deployment(GroupType::Odoo, "a-b", "c", 500));
    cases.push(deployment(GroupType::Odoo, "a", "b-c", 501));
    for d in cases {
        for object in render(&d, Run::Running, &DeploymentSecrets::none()).unwrap().objects {
            assert!(seen.insert((object.kind, object.name.clone())), "{object:?} rendered twice");
        }
    }
}

#[test]
fn renaming_the_project_moves_nothing() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let mut renamed = d.clone();
    renamed.project_slug = "acme-renamed".parse().unwrap();
    let a = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap();
    let b = render(&renamed, Run::Running, &DeploymentSecrets::none()).unwrap();
    assert_eq!(a.namespace.name, b.namespace.name);
    let ids = |r: &eyrie_kube::Rendered| r.objects.iter().map(Object::id).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(b.objects[0].body["metadata"]["annotations"][labels::PROJECT_SLUG], "acme-renamed");
}

#[test]
fn built_in_objects_read_back_as_k8s_openapi_types() {
    for d in all_cases() {
        let rendered = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap();
        serde_json::from_value::<Namespace>(rendered.namespace.body.clone()).unwrap();
        for object in rendered.objects {
            let body = object.body.clone();
            let ok = match object.kind {
                Kind::Secret => serde_json::from_value::<Secret>(body).is_ok(),
                Kind::PersistentVolumeClaim => serde_json::from_value::<PersistentVolumeClaim>(body).is_ok(),
                Kind::Deployment => serde_json::from_value::<Deployment>(body).is_ok(),
                Kind::Service => serde_json::from_value::<Service>(body).is_ok(),
                Kind::Ingress => serde_json::from_value::<Ingress>(body).is_ok(),
                Kind::Job => serde_json::from_value::<k8s_openapi::api::batch::v1::Job>(body).is_ok(),
                Kind::Pod => serde_json::from_value::<k8s_openapi::api::core::v1::Pod>(body).is_ok(),
                Kind::PostgresCluster
                | Kind::PerconaXtraDbCluster
                | Kind::PerconaXtraDbClusterBackup
                | Kind::PerconaXtraDbClusterRestore
                | Kind::Namespace => true,
            };
            assert!(ok, "{object:?}");
        }
    }
}

fn object(objects: &[Object], kind: Kind) -> &Object {
    objects.iter().find(|o| o.kind == kind).unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn paused_means_zero_replicas_or_the_operators_own_switch() {
    let none = |run| render(&deployment(GroupType::None, "apps", "api", 80), run, &DeploymentSecrets::none()).unwrap();
    let odoo = |run| render(&deployment(GroupType::Odoo, "erp", "shop", 77), run, &DeploymentSecrets::none()).unwrap();
    let pgo = |run| render(&deployment(GroupType::Pgo, "db", "main", 78), run, &DeploymentSecrets::none()).unwrap();
    let pxc = |run| render(&deployment(GroupType::Pxc, "my", "orders", 79), run, &DeploymentSecrets::none()).unwrap();
    for (rendered, pointer, running, paused) in [
        (none as fn(Run) -> _, "/spec/replicas", Value::from(1), Value::from(0)),
        (odoo, "/spec/replicas", Value::from(1), Value::from(0)),
        (pgo, "/spec/shutdown", Value::Bool(false), Value::Bool(true)),
        (pxc, "/spec/pause", Value::Bool(false), Value::Bool(true)),
    ] {
        let kind_of = |r: &eyrie_kube::Rendered| {
            let workload = r.objects.iter().find(|o| matches!(o.kind, Kind::Deployment) || o.kind.is_custom());
            workload.unwrap().clone()
        };
        assert_eq!(kind_of(&rendered(Run::Running)).body.pointer(pointer), Some(&running));
        assert_eq!(kind_of(&rendered(Run::Paused)).body.pointer(pointer), Some(&paused));
        // Pausing keeps every object (data included).
        assert_eq!(rendered(Run::Running).objects.len(), rendered(Run::Paused).objects.len());
    }
}

fn odoo_conf(objects: &[Object]) -> String {
    let secret: Secret = serde_json::from_value(object(objects, Kind::Secret).body.clone()).unwrap();
    String::from_utf8(secret.data.unwrap()["odoo.conf"].0.clone()).unwrap()
}

#[test]
fn odoo_configuration_carries_params_and_only_given_secrets() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let plain = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap();
    let conf = odoo_conf(&plain.objects);
    assert!(conf.starts_with("[options]\n"), "{conf}");
    assert!(conf.contains("workers = 3\n"), "{conf}");
    assert!(conf.contains("dbfilter = ^%d$\n"), "{conf}");
    assert!(!conf.contains("ingress_class"), "Eyrie's own params stay out: {conf}");
    assert!(!conf.contains("admin_passwd") && !conf.contains("db_password"), "{conf}");

    let secrets = DeploymentSecrets::none().with("admin_passwd", SecretString::new("s3cret-master"));
    let with = render(&d, Run::Running, &secrets).unwrap();
    assert!(odoo_conf(&with.objects).contains("admin_passwd = s3cret-master\n"));
    let printed = format!("{with:?} {secrets:?}");
    assert!(!printed.contains("s3cret-master"), "{printed}");
    assert!(!printed.contains("czNjcmV0LW1hc3Rlc"), "no base64 either: {printed}");

    // A configuration change changes the pod template, so pods roll.
    let hash = |r: &eyrie_kube::Rendered| {
        object(&r.objects, Kind::Deployment).body["spec"]["template"]["metadata"]["annotations"][labels::CONFIG_HASH]
            .clone()
    };
    assert_ne!(hash(&plain), hash(&with));
}

#[test]
fn odoo_refuses_values_that_would_inject_options() {
    let mut d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let mut value = d.effective.params["workers"].clone();
    value.value = "2\nadmin_passwd = x".into();
    d.effective.params.insert("workers".into(), value);
    let err = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(!err.to_string().contains("admin_passwd = x"), "{err}");
}

#[test]
fn invalid_settings_are_refused_with_typed_errors() {
    let mut none = deployment(GroupType::None, "apps", "api", 80);
    none.image = None;
    assert_eq!(render(&none, Run::Running, &DeploymentSecrets::none()).unwrap_err().kind(), ErrorKind::Invalid);

    let mut pgo = deployment(GroupType::Pgo, "db", "main", 78);
    let mut version = pgo.effective.params["postgres_version"].clone();
    version.value = "9".into();
    pgo.effective.params.insert("postgres_version".into(), version);
    assert_eq!(render(&pgo, Run::Running, &DeploymentSecrets::none()).unwrap_err().kind(), ErrorKind::Invalid);

    let mut pxc = deployment(GroupType::Pxc, "my", "orders", 79);
    pxc.effective.replicas.value = 0;
    assert_eq!(render(&pxc, Run::Running, &DeploymentSecrets::none()).unwrap_err().kind(), ErrorKind::Invalid);
}

#[test]
fn ingress_only_with_a_host() {
    let mut d = deployment(GroupType::None, "apps", "api", 80);
    let with = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap();
    assert_eq!(object(&with.objects, Kind::Ingress).body["spec"]["rules"][0]["host"], "api.acme.example");
    d.effective.host = None;
    let without = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap();
    assert!(without.objects.iter().all(|o| o.kind != Kind::Ingress));
}

#[test]
fn the_render_example_output_parses_back() {
    let yaml = demo::quickstart_yaml().unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "Namespace").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "Deployment").count(), 3, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "PostgresCluster").count(), 1, "{kinds:?}");
    assert_eq!(docs.len(), 1 + 3 * 5 + 1);
    let hosts: BTreeSet<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "Ingress")
        .map(|d| d["spec"]["rules"][0]["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, BTreeSet::from(["shop.acme.example", "shop-staging.acme.example", "sandbox.dev.acme.example"]));
    let shop = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["annotations"][labels::DEPLOYMENT_SLUG] == "shop");
    assert_eq!(shop.unwrap()["spec"]["replicas"], 2);
}
