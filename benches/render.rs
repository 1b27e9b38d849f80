//! The cost of rendering one deployment (`eyrie_kube::render::render`) for
//! each group type, from the resolved desired state to the list of objects
//! (namespace included, YAML not written), and of writing that as YAML.
//!
//! Run: `cargo bench -p eyrie-benches --bench render`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use eyrie_core::executor::DesiredDeployment;
use eyrie_core::{GroupType, LifecycleState, UserId};
use eyrie_kube::render::{DeploymentSecrets, Run, render};
use eyrie_testkit::builders;

/// One deployment of `group_type` with the settings an operator would set:
/// a domain (so web types get an Ingress), a storage class, params.
fn deployment(group_type: GroupType) -> DesiredDeployment {
    let mut project = builders::project(7, UserId(1));
    project.slug = "acme".parse().unwrap();
    project.domain = Some("acme.example".parse().unwrap());
    let mut group = builders::group(40, &project, group_type, &[1]);
    group.slug = "shop".parse().unwrap();
    let scope = builders::scope(41, &group, "prod");
    let mut d = builders::deployment(77, &group, &scope, "main");
    d.state = LifecycleState::Deploy;
    let image = match group_type {
        GroupType::Odoo => {
            group.settings.params.insert("workers".into(), "4".into());
            group.settings.params.insert("ingress_class".into(), "nginx".into());
            Some("odoo:18.0".parse().unwrap())
        }
        GroupType::Pgo => {
            d.settings.params.insert("storage_class".into(), "fast".into());
            None
        }
        GroupType::Pxc => None,
        GroupType::None => Some("ghcr.io/acme/api:1.4.2".parse().unwrap()),
    };
    DesiredDeployment::resolve(&project, &group, &scope, &d, image).unwrap()
}

fn bench_render(c: &mut Criterion) {
    let secrets = DeploymentSecrets::none();
    let mut group = c.benchmark_group("render");
    for group_type in GroupType::ALL {
        let desired = deployment(group_type);
        group.bench_with_input(BenchmarkId::from_parameter(group_type), &desired, |b, d| {
            b.iter(|| render(black_box(d), Run::Running, &secrets).unwrap());
        });
    }
    group.finish();
    let mut group = c.benchmark_group("render_yaml");
    for group_type in GroupType::ALL {
        let rendered = render(&deployment(group_type), Run::Running, &secrets).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(group_type), &rendered, |b, r| {
            b.iter(|| black_box(r).to_yaml().unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
