//! Every API conversation of the executor, scripted with `tower-test` behind
//! a real `kube::Client`: method, path, query (`fieldManager`, `force`,
//! `labelSelector`), content type and body are checked; a converged
//! deployment gets no write request; API errors become typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use eyrie_core::executor::{ClusterExecutor, DesiredDeployment};
use eyrie_core::{Clock, ErrorKind, GroupType};
use eyrie_kube::render::{DeploymentSecrets, Run, render};
use eyrie_kube::{Kind, KubeExecutor, Object, labels};
use http::Method;
use serde_json::{Value, json};
use support::server::{Answer, Exchange, Seen, list, scripted, status};
use support::{access, clock, deployment};

/// `/api/v1/namespaces/{ns}/{plural}` or `/apis/{group}/{version}/namespaces/{ns}/{plural}`.
fn collection(kind: Kind, ns: &str) -> String {
    let base = if kind.group().is_empty() { "/api/v1".to_owned() } else { format!("/apis/{}", kind.api_version()) };
    format!("{base}/namespaces/{ns}/{}", kind.plural())
}

fn item(object: &Object) -> String {
    format!("{}/{}", collection(object.kind, object.namespace.as_deref().unwrap()), object.name)
}

fn rendered(d: &DesiredDeployment, run: Run) -> Vec<Object> {
    render(d, run, &DeploymentSecrets::none()).unwrap().objects
}

/// The `fieldsV1` a server-side apply of `value` leaves (lists as atomic).
fn fields_of(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (format!("f:{k}"), fields_of(v))).collect()),
        _ => json!({}),
    }
}

/// `object` as the API server returns it after an apply: with server-set
/// metadata, Eyrie's managed fields, defaults and a status.
fn live(object: &Object) -> Value {
    let mut body = object.body.clone();
    let mut applied = object.body.clone();
    applied.as_object_mut().unwrap().remove("apiVersion");
    applied.as_object_mut().unwrap().remove("kind");
    let meta = body["metadata"].as_object_mut().unwrap();
    meta.insert("uid".into(), json!("0b6f6c1e-uid"));
    meta.insert("resourceVersion".into(), json!("4242"));
    meta.insert("generation".into(), json!(1));
    meta.insert(
        "managedFields".into(),
        json!([{"manager": "eyrie", "operation": "Apply", "apiVersion": object.kind.api_version(),
                "fieldsType": "FieldsV1", "fieldsV1": fields_of(&applied)}]),
    );
    match object.kind {
        Kind::Deployment => {
            body["spec"]["progressDeadlineSeconds"] = json!(600);
            body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
            body["status"] = json!({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1});
        }
        Kind::Service => body["spec"]["clusterIP"] = json!("10.96.0.12"),
        Kind::PersistentVolumeClaim => {
            body["spec"]["volumeMode"] = json!("Filesystem");
            body["status"] = json!({"phase": "Bound"});
        }
        _ => {}
    }
    body
}

fn lists_of(d: &DesiredDeployment, live_objects: &[Object]) -> Vec<Exchange> {
    Kind::owned_by(d.effective.group_type)
        .iter()
        .map(|kind| {
            let items = live_objects.iter().filter(|o| o.kind == *kind).map(live).collect();
            Exchange::get(&collection(*kind, &d.namespace), 200, list(kind.kind(), items))
        })
        .collect()
}

/// The lists a drop reads: the deployment's kinds, then those of its
/// backups and restores.
fn drop_lists_of(d: &DesiredDeployment, live_objects: &[Object]) -> Vec<Exchange> {
    let mut script = lists_of(d, live_objects);
    script.extend(Kind::operations_of(d.effective.group_type).iter().map(|kind| {
        let items = live_objects.iter().filter(|o| o.kind == *kind).map(live).collect();
        Exchange::get(&collection(*kind, &d.namespace), 200, list(kind.kind(), items))
    }));
    script
}

fn lines(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(Seen::line).collect()
}

async fn run<T>(
    script: Vec<Exchange>,
    call: impl AsyncFnOnce(&KubeExecutor) -> eyrie_core::Result<T>,
) -> (eyrie_core::Result<T>, Vec<Seen>) {
    let (client, server) = scripted(script);
    let executor = KubeExecutor::with_client(client, clock()).with_poll_interval(Duration::ZERO);
    let result = call(&executor).await;
    drop(executor);
    let seen = server.await.unwrap();
    assert!(seen.iter().all(|s| s.expected), "unexpected requests: {:?}", lines(&seen));
    (result, seen)
}

fn odoo() -> DesiredDeployment {
    deployment(GroupType::Odoo, "erp", "shop", 77)
}

#[tokio::test]
async fn apply_creates_every_object_by_server_side_apply() {
    let d = odoo();
    let objects = rendered(&d, Run::Running);
    let mut script = lists_of(&d, &[]);
    script.extend(objects.iter().map(|o| Exchange::patch(&item(o), 201, live(o))));
    let (result, seen) = run(script, async |x| x.apply(&access(), &d).await).await;
    result.unwrap();

    let selector = format!("{}=eyrie,{}={}", labels::MANAGED_BY, labels::DEPLOYMENT, d.deployment_id);
    let ns = &d.namespace;
    assert_eq!(
        lines(&seen),
        [
            format!("GET /api/v1/namespaces/{ns}/secrets"),
            format!("GET /api/v1/namespaces/{ns}/persistentvolumeclaims"),
            format!("GET /apis/apps/v1/namespaces/{ns}/deployments"),
            format!("GET /api/v1/namespaces/{ns}/services"),
            format!("GET /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"),
            format!("PATCH /api/v1/namespaces/{ns}/secrets/erp-shop-25-config"),
            format!("PATCH /api/v1/namespaces/{ns}/persistentvolumeclaims/erp-shop-25-filestore"),
            format!("PATCH /apis/apps/v1/namespaces/{ns}/deployments/erp-shop-25"),
            format!("PATCH /api/v1/namespaces/{ns}/services/erp-shop-25"),
            format!("PATCH /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/erp-shop-25"),
        ]
    );
    for get in seen.iter().filter(|s| s.method == Method::GET) {
        assert_eq!(get.query["labelSelector"], selector);
    }
    for (patch, object) in seen.iter().filter(|s| s.method == Method::PATCH).zip(&objects) {
        assert_eq!(patch.query["fieldManager"], "eyrie");
        assert_eq!(patch.query["force"], "true");
        assert_eq!(patch.content_type.as_deref(), Some("application/apply-patch+yaml"));
        assert_eq!(patch.body.as_ref(), Some(&object.body));
    }
}

#[tokio::test]
async fn a_converged_deployment_gets_no_write_request() {
    for d in [
        odoo(),
        deployment(GroupType::Pgo, "db", "main", 78),
        deployment(GroupType::Pxc, "my", "orders", 79),
        deployment(GroupType::None, "apps", "api", 80),
    ] {
        let objects = rendered(&d, Run::Running);
        let (result, seen) = run(lists_of(&d, &objects), async |x| x.apply(&access(), &d).await).await;
        result.unwrap();
        assert!(seen.iter().all(|s| !s.is_write()), "{}: {:?}", d.effective.group_type, lines(&seen));
        assert_eq!(seen.len(), Kind::owned_by(d.effective.group_type).len());
    }
}

#[tokio::test]
async fn apply_changes_what_differs_and_deletes_what_is_no_longer_rendered() {
    let d = odoo();
    let objects = rendered(&d, Run::Running);
    let mut live_objects = objects.clone();
    // Someone scaled the Deployment; an Ingress of an older rendering is left over.
    let deployment = live_objects.iter_mut().find(|o| o.kind == Kind::Deployment).unwrap();
    deployment.body["spec"]["replicas"] = json!(5);
    let mut old = objects.iter().find(|o| o.kind == Kind::Ingress).unwrap().clone();
    old.name = "erp-shop-old".into();
    old.body["metadata"]["name"] = json!("erp-shop-old");
    live_objects.push(old.clone());

    let plan_script = lists_of(&d, &live_objects);
    let (plan, _) = run(plan_script, async |x| x.plan(&access(), &d).await).await;
    assert_eq!(
        plan.unwrap().to_string(),
        "keep Secret erp-shop-25-config\nkeep PersistentVolumeClaim erp-shop-25-filestore\n\
         change Deployment erp-shop-25: spec.replicas\nkeep Service erp-shop-25\nkeep Ingress erp-shop-25\n\
         delete Ingress erp-shop-old\n"
    );

    let deployment = objects.iter().find(|o| o.kind == Kind::Deployment).unwrap();
    let mut script = lists_of(&d, &live_objects);
    script.push(Exchange::patch(&item(deployment), 200, live(deployment)));
    script.push(Exchange::delete(&item(&old), 200, live(&old)));
    let (result, seen) = run(script, async |x| x.apply(&access(), &d).await).await;
    result.unwrap();
    let writes: Vec<&Seen> = seen.iter().filter(|s| s.is_write()).collect();
    assert_eq!(writes.len(), 2, "{:?}", lines(&seen));
    assert_eq!(writes[0].body.as_ref(), Some(&deployment.body));
    assert_eq!(writes[1].method, Method::DELETE);
    assert_eq!(writes[1].body.as_ref().unwrap()["propagationPolicy"], "Background");
}

#[tokio::test]
async fn pause_and_resume_use_replicas_or_the_operators_switch() {
    // odoo: only the Deployment changes, to zero replicas.
    let d = odoo();
    let running = rendered(&d, Run::Running);
    let paused = rendered(&d, Run::Paused);
    let target = paused.iter().find(|o| o.kind == Kind::Deployment).unwrap();
    let mut script = lists_of(&d, &running);
    script.push(Exchange::patch(&item(target), 200, live(target)));
    let (result, seen) = run(script, async |x| x.pause(&access(), &d).await).await;
    result.unwrap();
    let patch = seen.iter().find(|s| s.method == Method::PATCH).unwrap();
    assert_eq!(patch.body.as_ref().unwrap()["spec"]["replicas"], 0);
    assert_eq!(seen.iter().filter(|s| s.is_write()).count(), 1);

    // pgo: `shutdown` flips; pausing again is a no-op; resume flips it back.
    let pg = deployment(GroupType::Pgo, "db", "main", 78);
    let running = rendered(&pg, Run::Running);
    let paused = rendered(&pg, Run::Paused);
    let mut script = lists_of(&pg, &running);
    script.push(Exchange::patch(&item(&paused[0]), 200, live(&paused[0])));
    let (result, seen) = run(script, async |x| x.pause(&access(), &pg).await).await;
    result.unwrap();
    assert_eq!(seen.last().unwrap().body.as_ref().unwrap()["spec"]["shutdown"], true);
    assert_eq!(seen.last().unwrap().query["fieldManager"], "eyrie");

    let (result, seen) = run(lists_of(&pg, &paused), async |x| x.pause(&access(), &pg).await).await;
    result.unwrap();
    assert!(seen.iter().all(|s| !s.is_write()));

    let mut script = lists_of(&pg, &paused);
    script.push(Exchange::patch(&item(&running[0]), 200, live(&running[0])));
    let (result, seen) = run(script, async |x| x.resume(&access(), &pg).await).await;
    result.unwrap();
    assert_eq!(seen.last().unwrap().body.as_ref().unwrap()["spec"]["shutdown"], false);

    // pxc: `pause`.
    let my = deployment(GroupType::Pxc, "my", "orders", 79);
    let paused = rendered(&my, Run::Paused);
    let mut script = lists_of(&my, &rendered(&my, Run::Running));
    script.push(Exchange::patch(&item(&paused[0]), 200, live(&paused[0])));
    let (result, seen) = run(script, async |x| x.pause(&access(), &my).await).await;
    result.unwrap();
    assert_eq!(seen.last().unwrap().body.as_ref().unwrap()["spec"]["pause"], true);
}

#[tokio::test]
async fn drop_deletes_everything_labelled_then_confirms_it_is_gone() {
    let mut d = odoo();
    let objects = rendered(&d, Run::Running);
    let mut script = drop_lists_of(&d, &objects);
    script.extend(objects.iter().map(|o| Exchange::delete(&item(o), 200, live(o))));
    script.extend(drop_lists_of(&d, &[]));
    let (result, seen) = run(script, async |x| x.remove(&access(), &d).await).await;
    result.unwrap();
    let deletes: Vec<String> = seen.iter().filter(|s| s.method == Method::DELETE).map(|s| s.path.clone()).collect();
    assert_eq!(deletes, objects.iter().map(item).collect::<Vec<_>>());
    // Five kinds of its own and its backups' Jobs, listed before and after.
    assert_eq!(seen.len(), 6 + 5 + 6);

    // Something still terminating: retryable, and the retry does not delete it again.
    let mut pvc = objects.iter().find(|o| o.kind == Kind::PersistentVolumeClaim).unwrap().clone();
    pvc.body["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:01:00Z");
    pvc.body["metadata"]["finalizers"] = json!(["kubernetes.io/pvc-protection"]);
    let mut script = drop_lists_of(&d, std::slice::from_ref(&pvc));
    script.extend(drop_lists_of(&d, std::slice::from_ref(&pvc)));
    let (result, seen) = run(script, async |x| x.remove(&access(), &d).await).await;
    let err = result.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Backend, true), "{err}");
    assert!(err.to_string().contains("erp-shop-25-filestore"), "{err}");
    assert!(seen.iter().all(|s| !s.is_write()));

    // A scope that forbids drops: refused before any request.
    d.effective.allow_drop.value = false;
    let (result, seen) = run(vec![], async |x| x.remove(&access(), &d).await).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::PolicyViolation);
    assert!(seen.is_empty());
}

#[tokio::test]
async fn observe_reads_the_workload_status() {
    let d = odoo();
    let objects = rendered(&d, Run::Running);
    let workload = objects.iter().find(|o| o.kind == Kind::Deployment).unwrap();
    let mut body = live(workload);
    body["spec"]["replicas"] = json!(2);
    body["status"] = json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 2,
        "availableReplicas": 1, "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."}]});
    let (result, seen) =
        run(vec![Exchange::get(&item(workload), 200, body)], async |x| x.observe(&access(), &d).await).await;
    let observed = result.unwrap();
    assert_eq!(lines(&seen), [format!("GET {}", item(workload))]);
    assert_eq!((observed.ready_replicas, observed.desired_replicas), (1, 2));
    assert_eq!(observed.conditions[0].kind, "Available");
    assert_eq!(observed.conditions[0].status, "False");
    assert_eq!(observed.observed_at, support::FixedClock.now());

    // A PostgresCluster.
    let pg = deployment(GroupType::Pgo, "db", "main", 78);
    let cluster = &rendered(&pg, Run::Running)[0];
    let mut body = live(cluster);
    body["status"] = json!({"observedGeneration": 1, "instances": [{"name": "pg", "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2}],
        "conditions": [{"type": "PGBackRestReplicaRepoReady", "status": "True", "reason": "r", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
    let (result, seen) =
        run(vec![Exchange::get(&item(cluster), 200, body)], async |x| x.observe(&access(), &pg).await).await;
    let observed = result.unwrap();
    assert_eq!(lines(&seen), [format!("GET {}", item(cluster))]);
    assert_eq!((observed.ready_replicas, observed.desired_replicas), (2, 2));
    assert_eq!(observed.conditions[0].message, None);

    // Missing: an error, not an invented state.
    let (result, _) = run(
        vec![Exchange::get(
            &item(workload),
            404,
            status(404, "NotFound", "deployments.apps \"erp-shop-25\" not found"),
        )],
        async |x| x.observe(&access(), &d).await,
    )
    .await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn wait_ready_reads_until_ready_or_the_deadline() {
    let d = odoo();
    let workload = rendered(&d, Run::Running).into_iter().find(|o| o.kind == Kind::Deployment).unwrap();
    let mut starting = live(&workload);
    starting["status"] = json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1});
    let mut ready = live(&workload);
    ready["status"] = json!({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1});
    let script = vec![
        Exchange::get(&item(&workload), 200, starting.clone()),
        Exchange::get(&item(&workload), 200, starting.clone()),
        Exchange::get(&item(&workload), 200, ready),
    ];
    let (result, seen) = run(script, async |x| x.wait_ready(&access(), &d, Duration::from_secs(3600)).await).await;
    assert_eq!(result.unwrap().ready_replicas, 1);
    assert_eq!(seen.len(), 3);

    // A deadline already passed: one read, then a retryable error.
    let script = vec![Exchange::get(&item(&workload), 200, starting)];
    let (result, seen) = run(script, async |x| x.wait_ready(&access(), &d, Duration::ZERO).await).await;
    let err = result.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Backend, true), "{err}");
    assert!(err.to_string().contains("0/1"), "{err}");
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn ensure_namespace_creates_once_and_then_only_reads() {
    let d = odoo();
    let namespace = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap().namespace;
    let path = format!("/api/v1/namespaces/{}", d.namespace);
    let missing = status(404, "NotFound", "namespaces not found");
    let script = vec![Exchange::get(&path, 404, missing), Exchange::patch(&path, 201, namespace.body.clone())];
    let (result, seen) = run(script, async |x| x.ensure_namespace(&access(), &d).await).await;
    result.unwrap();
    assert_eq!(lines(&seen), [format!("GET {path}"), format!("PATCH {path}")]);
    assert_eq!(seen[1].body.as_ref(), Some(&namespace.body));
    assert_eq!(seen[1].query["fieldManager"], "eyrie");

    let mut existing = namespace.body.clone();
    existing["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(d.namespace);
    existing["status"] = json!({"phase": "Active"});
    let (result, seen) =
        run(vec![Exchange::get(&path, 200, existing.clone())], async |x| x.ensure_namespace(&access(), &d).await).await;
    result.unwrap();
    assert_eq!(seen.len(), 1);

    // Created by someone else, without Eyrie's labels: labelled once.
    let mut foreign = existing.clone();
    foreign["metadata"]["labels"] = json!({"kubernetes.io/metadata.name": d.namespace});
    let script = vec![Exchange::get(&path, 200, foreign), Exchange::patch(&path, 200, existing.clone())];
    let (result, seen) = run(script, async |x| x.ensure_namespace(&access(), &d).await).await;
    result.unwrap();
    assert_eq!(seen[1].body.as_ref(), Some(&namespace.body));

    existing["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let (result, _) =
        run(vec![Exchange::get(&path, 200, existing)], async |x| x.ensure_namespace(&access(), &d).await).await;
    assert!(result.unwrap_err().is_retryable());
}

#[tokio::test]
async fn api_errors_map_to_typed_errors() {
    let d = deployment(GroupType::Pgo, "db", "main", 78);
    let cluster = rendered(&d, Run::Running).remove(0);
    let path = item(&cluster);
    let cases = [
        (Answer::Json(409, status(409, "Conflict", "the object has been modified")), ErrorKind::Conflict, true),
        (
            Answer::Json(422, status(422, "Invalid", "spec.postgresVersion: Invalid value: 9")),
            ErrorKind::Invalid,
            false,
        ),
        (Answer::Json(500, status(500, "InternalError", "etcdserver: leader changed")), ErrorKind::Backend, true),
        (Answer::Json(403, status(403, "Forbidden", "cannot patch")), ErrorKind::Backend, false),
        (Answer::TimedOut, ErrorKind::Backend, true),
    ];
    for (answer, kind, retryable) in cases {
        let mut script = lists_of(&d, &[]);
        script.push(Exchange::new(Method::PATCH, &path, answer.clone()));
        let (result, _) = run(script, async |x| x.apply(&access(), &d).await).await;
        let err = result.unwrap_err();
        assert_eq!((err.kind(), err.is_retryable()), (kind, retryable), "{answer:?}: {err}");
        assert!(err.to_string().contains(&cluster.name), "{err}");
    }

    // A failing list stops before any write.
    let script = vec![Exchange::get(
        &collection(Kind::PostgresCluster, &d.namespace),
        503,
        status(503, "ServiceUnavailable", "x"),
    )];
    let (result, seen) = run(script, async |x| x.apply(&access(), &d).await).await;
    assert!(result.unwrap_err().is_retryable());
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn quantities_the_server_normalises_are_not_changes() {
    let mut d = deployment(GroupType::None, "apps", "api", 80);
    d.effective.cpu_request.value = "0.5".parse().unwrap();
    d.effective.memory_limit.value = "1024Mi".parse().unwrap();
    let objects = rendered(&d, Run::Running);
    let mut live_objects = objects.clone();
    let workload = live_objects.iter_mut().find(|o| o.kind == Kind::Deployment).unwrap();
    let resources = &mut workload.body["spec"]["template"]["spec"]["containers"][0]["resources"];
    assert_eq!(resources["requests"]["cpu"], "0.5");
    resources["requests"]["cpu"] = json!("500m");
    resources["limits"]["memory"] = json!("1Gi");
    let (result, seen) = run(lists_of(&d, &live_objects), async |x| x.apply(&access(), &d).await).await;
    result.unwrap();
    assert!(seen.iter().all(|s| !s.is_write()), "{:?}", lines(&seen));
}

#[tokio::test]
async fn an_operator_kind_the_cluster_does_not_know() {
    let d = deployment(GroupType::Pgo, "db", "main", 78);
    let cluster = rendered(&d, Run::Running).remove(0);
    let unknown = || status(404, "NotFound", "the server could not find the requested resource");
    let collection = collection(Kind::PostgresCluster, &d.namespace);

    // Drop: nothing of an unknown kind can exist, so nothing is deleted.
    let secrets = || Exchange::get(&self::collection(Kind::Secret, &d.namespace), 200, list("Secret", vec![]));
    let script = vec![
        Exchange::get(&collection, 404, unknown()),
        secrets(),
        Exchange::get(&collection, 404, unknown()),
        secrets(),
    ];
    let (result, seen) = run(script, async |x| x.remove(&access(), &d).await).await;
    result.unwrap();
    assert!(seen.iter().all(|s| !s.is_write()));

    // Apply: the create fails as not found, not retryable.
    let script = vec![Exchange::get(&collection, 404, unknown()), Exchange::patch(&item(&cluster), 404, unknown())];
    let (result, _) = run(script, async |x| x.apply(&access(), &d).await).await;
    let err = result.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::NotFound, false), "{err}");
}
