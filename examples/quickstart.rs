//! Quickstart: a typical tenant, its effective settings and a few
//! authorization decisions, explained.
//!
//! For now this runs on the pure core only and keeps nothing between runs:
//! persistence comes with the embedded store (redb), which is not built yet.

use eyrie_core::{Action, EffectiveDeployment, Grants, GroupType, Resource, Role, explain};
use eyrie_testkit::builders;

fn main() -> Result<(), eyrie_core::Error> {
    let owner = builders::user(1);
    let developer = builders::user(2);
    let viewer = builders::user(3);

    let mut project = builders::project(1, eyrie_core::UserId(1));
    project.domain = Some("acme.example".parse()?);
    let mut group = builders::group(10, &project, GroupType::Odoo, &[1, 2]);
    group.settings.replicas = Some(2);
    group.settings.params.insert("workers".into(), "4".into());
    let mut prod = builders::scope(20, &group, "prod");
    prod.allow_drop = false;
    prod.deployment_cluster_ids = [eyrie_core::ClusterId(1)].into();
    prod.settings.replicas = Some(3);
    let mut dev = builders::scope(21, &group, "dev");
    dev.role_to_admin = Role::Developer;
    dev.root_subdomain = Some("dev.acme.example".parse()?);
    let mut shop = builders::deployment(30, &group, &prod, "shop");
    shop.settings.memory_limit = Some("4Gi".parse()?);
    let sandbox = builders::deployment(31, &group, &dev, "sandbox");

    println!("Eyrie quickstart (pure core: nothing is stored yet; the embedded redb store comes next)\n");
    println!(
        "project {} ({}), namespace {}",
        project.slug,
        project.id,
        eyrie_core::Namespace::name_for(project.namespace_uid)
    );
    println!("  group {} [{}] on clusters {:?}", group.slug, group.group_type, group.group_cluster_ids);
    for (scope, deployments) in [(&prod, vec![&shop]), (&dev, vec![&sandbox])] {
        println!("    scope {} (allow_drop={}, role_to_admin={})", scope.code, scope.allow_drop, scope.role_to_admin);
        for d in deployments {
            println!("      deployment {} in namespace {}", d.slug, d.namespace());
        }
    }

    let effective = EffectiveDeployment::resolve(&project, &group, &prod, &shop)?;
    println!("\neffective settings of {}:", shop.slug);
    for (name, value, source) in effective.entries() {
        println!("  {name:<16} {value:<28} from {source}");
    }

    let member = |role| Grants { project: Some(role), ..Grants::default() };
    let cases = [
        (owner, Action::DeleteProject, builders::deployment_resource(&project, &prod, &shop, Grants::default())),
        (developer, Action::Deploy, builders::deployment_resource(&project, &prod, &shop, member(Role::Developer))),
        (developer, Action::Upgrade, builders::deployment_resource(&project, &prod, &shop, member(Role::Developer))),
        (developer, Action::Upgrade, builders::deployment_resource(&project, &dev, &sandbox, member(Role::Developer))),
        (viewer, Action::Deploy, builders::deployment_resource(&project, &prod, &shop, member(Role::User))),
        (
            viewer,
            Action::Deploy,
            builders::deployment_resource(
                &project,
                &dev,
                &sandbox,
                Grants { deployment: Some(Role::Developer), ..member(Role::User) },
            ),
        ),
        (
            developer,
            Action::InviteMember,
            Resource::Project { project: builders::facts(&project), grants: member(Role::Developer) },
        ),
    ];
    println!("\nauthorization decisions:");
    for (actor, action, resource) in cases {
        let who = match actor {
            eyrie_core::Actor::User { id, .. } => id.to_string(),
            eyrie_core::Actor::System => "system".into(),
        };
        println!("  {who}: {}", explain(actor, action, &resource));
    }
    Ok(())
}
