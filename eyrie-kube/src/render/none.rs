//! `none`: a generic container as a Deployment and a Service, plus an
//! Ingress when the deployment has a host.
//!
//! An image is required. The container listens on `port` (param, default
//! 8080), which the Service exposes on port 80. It is stateless: no volume.

use eyrie_core::Result;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PodSpec, PodTemplateSpec, Probe, Service, ServicePort, ServiceSpec, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use serde_json::Value;

use super::{Ctx, Object, invalid, put, to_json};
use crate::kinds::Kind;

const DEFAULT_PORT: i32 = 8080;

pub(super) fn render(ctx: &Ctx<'_>) -> Result<Vec<Object>> {
    let Some(image) = &ctx.desired.image else {
        return Err(invalid("image", &ctx.desired.deployment_slug, "a deployment of type none needs an image"));
    };
    let port = match ctx.param("port") {
        None => DEFAULT_PORT,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 => i32::from(port),
            _ => return Err(invalid("port", text, "must be a port number from 1 to 65535")),
        },
    };
    let http = || IntOrString::String("http".to_owned());
    let container = Container {
        name: "app".to_owned(),
        image: Some(image.to_string()),
        ports: Some(vec![ContainerPort {
            name: Some("http".to_owned()),
            container_port: port,
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        resources: Some(ctx.resources()),
        readiness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction { port: http(), ..TCPSocketAction::default() }),
            period_seconds: Some(10),
            ..Probe::default()
        }),
        ..Container::default()
    };
    let deployment = Deployment {
        spec: Some(DeploymentSpec {
            replicas: Some(ctx.running_replicas()?),
            // Selector and pod labels are put in from the context below.
            selector: LabelSelector::default(),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta::default()),
                // The container is put in below, serialized from the stack.
                spec: Some(PodSpec { containers: Vec::new(), ..PodSpec::default() }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    let service = Service {
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            ports: Some(vec![ServicePort {
                name: Some("http".to_owned()),
                port: 80,
                target_port: Some(http()),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    let mut deployment = ctx.object(Kind::Deployment, &ctx.base, &deployment)?;
    put(&mut deployment.body, &["spec", "selector"], "matchLabels", ctx.selector())?;
    put(&mut deployment.body, &["spec", "template", "metadata"], "labels", ctx.labels())?;
    put(&mut deployment.body, &["spec", "template", "spec"], "containers", Value::Array(vec![to_json(&container)?]))?;
    let mut service = ctx.object(Kind::Service, &ctx.base, &service)?;
    put(&mut service.body, &["spec"], "selector", ctx.selector())?;
    let mut objects = vec![deployment, service];
    objects.extend(ctx.ingress(&[("/", "http")])?);
    Ok(objects)
}
