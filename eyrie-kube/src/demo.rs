//! The quickstart tenant, as [`DesiredDeployment`]s: what the `render`
//! example prints and the end-to-end test runs. Built with
//! `eyrie_testkit::builders`; to be replaced by a shared fixture.
//!
//! Project `acme` (domain `acme.example`) with
//! - group `erp` (`odoo`, clusters 1 and 2, 4 workers) and its scopes `prod`
//!   (cluster 1 only, 2 replicas on a `ReadWriteMany` filestore, drops
//!   forbidden), `stage` and `dev` (hosts under `dev.acme.example`), with
//!   one deployment each: `shop`, `shop-staging`, `sandbox`;
//! - group `db` (`pgo`, cluster 1), scope `prod`, deployment `main` with
//!   20Gi of storage.

use eyrie_core::executor::DesiredDeployment;
use eyrie_core::{
    Deployment, DeploymentGroup, GroupType, ImageRef, LifecycleState, Project, Result, Role, Scope, UserId,
};
use eyrie_testkit::builders;

/// The desired view of `deployment`, resolved in its scope, group and project.
pub fn desired(
    project: &Project,
    group: &DeploymentGroup,
    scope: &Scope,
    deployment: &Deployment,
    image: Option<ImageRef>,
) -> Result<DesiredDeployment> {
    DesiredDeployment::resolve(project, group, scope, deployment, image)
}

/// The quickstart tenant's deployments, all in `deploy`.
pub fn quickstart() -> Result<Vec<DesiredDeployment>> {
    let mut project = builders::project(1, UserId(1));
    project.slug = "acme".parse()?;
    project.domain = Some("acme.example".parse()?);

    let mut erp = builders::group(10, &project, GroupType::Odoo, &[1, 2]);
    erp.slug = "erp".parse()?;
    erp.settings.params.insert("workers".into(), "4".into());
    let mut prod = builders::scope(20, &erp, "prod");
    prod.allow_drop = false;
    prod.deployment_cluster_ids = [eyrie_core::ClusterId(1)].into();
    prod.settings.replicas = Some(2);
    prod.settings.params.insert("filestore_access_mode".into(), "ReadWriteMany".into());
    let stage = builders::scope(21, &erp, "stage");
    let mut dev = builders::scope(22, &erp, "dev");
    dev.role_to_admin = Role::Developer;
    dev.root_subdomain = Some("dev.acme.example".parse()?);
    let mut shop = builders::deployment(30, &erp, &prod, "shop");
    shop.settings.memory_limit = Some("4Gi".parse()?);
    let staging = builders::deployment(31, &erp, &stage, "shop-staging");
    let sandbox = builders::deployment(32, &erp, &dev, "sandbox");

    let mut db = builders::group(11, &project, GroupType::Pgo, &[1]);
    db.slug = "db".parse()?;
    let db_prod = builders::scope(23, &db, "prod");
    let mut main = builders::deployment(33, &db, &db_prod, "main");
    main.settings.storage_size = Some("20Gi".parse()?);

    let odoo: ImageRef = "odoo:18.0".parse()?;
    let mut out = vec![
        desired(&project, &erp, &prod, &shop, Some(odoo.clone()))?,
        desired(&project, &erp, &stage, &staging, Some(odoo.clone()))?,
        desired(&project, &erp, &dev, &sandbox, Some(odoo))?,
        desired(&project, &db, &db_prod, &main, None)?,
    ];
    for d in &mut out {
        d.state = LifecycleState::Deploy;
    }
    Ok(out)
}

/// The YAML stream the quickstart tenant's deployments would apply, running:
/// each project namespace once, then every deployment's objects.
pub fn quickstart_yaml() -> Result<String> {
    use crate::render::{DeploymentSecrets, Run, render};
    let mut namespaces = Vec::new();
    let mut objects = Vec::new();
    for deployment in quickstart()? {
        let rendered = render(&deployment, Run::Running, &DeploymentSecrets::none())?;
        if !namespaces.iter().any(|n: &crate::render::Object| n.name == rendered.namespace.name) {
            namespaces.push(rendered.namespace);
        }
        objects.extend(rendered.objects);
    }
    crate::render::to_yaml(namespaces.iter().chain(&objects))
}
