//! A small JSON web service over Eyrie with axum: projects, groups,
//! deployments and jobs, for the users of a portal.
//!
//! ```sh
//! cargo run --example portal_api                # listens on 127.0.0.1:3000, data in ./portal-data
//! curl -H "Authorization: Bearer <token>" http://127.0.0.1:3000/projects
//! ```
//!
//! - **Who asks.** A bearer token names a user; the tokens are this
//!   example's own (random, minted at start for the demo users and printed
//!   once). A real portal puts its authentication here. The actor comes from
//!   the store through [`Eyrie::actor`]: a token for a user that does not
//!   exist is refused, and the token carries no privilege of its own.
//! - **Errors** map from [`ErrorKind`] to HTTP: `NotFound` 404,
//!   `PermissionDenied` 403, `AlreadyExists`, `Conflict` and `Busy` 409,
//!   `Invalid`, `InvalidTransition` and `PolicyViolation` 422, `Backend`
//!   503 when retryable (else 500); a missing or unknown token is 401.
//!   The body is `{"error": "<kind>", "message": "…"}`.
//! - **Jobs** are submitted here and run by the engine in the background
//!   (`Engine::serve`), writing manifests under `./portal-data/manifests`.
//!
//! | method and path | does |
//! | --- | --- |
//! | `GET /projects` | the caller's projects |
//! | `POST /projects` `{"name", "domain"?}` | creates one (the caller owns it) |
//! | `GET /projects/{id}/groups` | its groups |
//! | `POST /projects/{id}/groups` `{"name", "group_type", "cluster_ids"}` | creates one |
//! | `GET /groups/{id}/deployments` | its deployments |
//! | `POST /groups/{id}/scopes` `{"code"}` | creates a scope |
//! | `POST /groups/{id}/deployments` `{"name", "scope_id"}` | creates one |
//! | `POST /deployments/{id}/jobs` `{"action"}` | submits a job (`initialize`, `deploy`, …) |
//! | `GET /jobs/{id}` | a job and its steps |

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use eyrie::prelude::*;
use eyrie::{GroupId, JobId, ProjectId, ScopeId, UserId};
use serde::Deserialize;
use serde_json::json;

/// Bearer tokens of this example, by token.
type Tokens = Arc<HashMap<String, UserId>>;

/// What every handler shares.
#[derive(Clone)]
struct App {
    eyrie: Eyrie,
    engine: Engine,
    tokens: Tokens,
}

/// An Eyrie error, or a request without a known token, as an HTTP answer.
enum ApiError {
    Eyrie(Error),
    Unauthenticated,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Eyrie(e)
    }
}

impl From<eyrie::ValidationError> for ApiError {
    fn from(e: eyrie::ValidationError) -> Self {
        ApiError::Eyrie(e.into())
    }
}

/// The HTTP status of an error kind.
fn status_of(e: &Error) -> StatusCode {
    match e.kind() {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::AlreadyExists | ErrorKind::Conflict | ErrorKind::Busy => StatusCode::CONFLICT,
        ErrorKind::Invalid | ErrorKind::InvalidTransition | ErrorKind::PolicyViolation => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ErrorKind::Backend if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthenticated => {
                let body = json!({"error": "unauthenticated", "message": "a bearer token is required"});
                (StatusCode::UNAUTHORIZED, Json(body)).into_response()
            }
            ApiError::Eyrie(e) => {
                let body = json!({"error": format!("{:?}", e.kind()), "message": e.to_string()});
                (status_of(&e), Json(body)).into_response()
            }
        }
    }
}

/// The caller, from the bearer token, as Eyrie knows them.
struct Caller(Actor);

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).ok_or(ApiError::Unauthenticated)?;
        let user = app.tokens.get(token).copied().ok_or(ApiError::Unauthenticated)?;
        Ok(Caller(app.eyrie.actor(user).await?))
    }
}

type Answer<T> = Result<Json<T>, ApiError>;
type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

fn created<T>(value: T) -> Created<T> {
    Ok((StatusCode::CREATED, Json(value)))
}

#[derive(Deserialize)]
struct NewProjectBody {
    name: String,
    domain: Option<String>,
}

async fn list_projects(State(app): State<App>, Caller(actor): Caller) -> Answer<Vec<Project>> {
    Ok(Json(app.eyrie.list_projects(actor).await?))
}

async fn create_project(
    State(app): State<App>,
    Caller(actor): Caller,
    Json(b): Json<NewProjectBody>,
) -> Created<Project> {
    let mut input = NewProject::new(b.name.parse()?);
    input.domain = b.domain.map(|d| d.parse()).transpose()?;
    created(app.eyrie.create_project(actor, input).await?)
}

#[derive(Deserialize)]
struct NewGroupBody {
    name: String,
    group_type: GroupType,
    cluster_ids: Vec<u64>,
}

async fn list_groups(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<u64>,
) -> Answer<Vec<DeploymentGroup>> {
    Ok(Json(app.eyrie.list_groups(actor, ProjectId(id)).await?))
}

async fn create_group(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<u64>,
    Json(b): Json<NewGroupBody>,
) -> Created<DeploymentGroup> {
    let input = NewGroup::new(b.name.parse()?, b.group_type, b.cluster_ids.into_iter().map(eyrie::ClusterId).collect());
    created(app.eyrie.create_group(actor, ProjectId(id), input).await?)
}

#[derive(Deserialize)]
struct NewScopeBody {
    code: String,
}

async fn create_scope(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<u64>,
    Json(b): Json<NewScopeBody>,
) -> Created<Scope> {
    let input = NewScope::new(b.code.parse()?, b.code.parse()?);
    created(app.eyrie.create_scope(actor, GroupId(id), input).await?)
}

#[derive(Deserialize)]
struct NewDeploymentBody {
    name: String,
    scope_id: u64,
}

async fn list_deployments(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<u64>,
) -> Answer<Vec<Deployment>> {
    Ok(Json(app.eyrie.list_deployments(actor, GroupId(id)).await?))
}

async fn create_deployment(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<u64>,
    Json(b): Json<NewDeploymentBody>,
) -> Created<Deployment> {
    let input = NewDeployment::new(b.name.parse()?, ScopeId(b.scope_id));
    created(app.eyrie.create_deployment(actor, GroupId(id), input).await?)
}

#[derive(Deserialize)]
struct NewJobBody {
    action: JobAction,
}

async fn submit_job(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<u64>,
    Json(b): Json<NewJobBody>,
) -> Created<Job> {
    created(app.engine.submit(actor, DeploymentId(id), b.action, BTreeMap::new()).await?)
}

async fn get_job(State(app): State<App>, Caller(actor): Caller, Path(id): Path<u64>) -> Answer<Job> {
    Ok(Json(app.engine.get_job(actor, JobId(id)).await?))
}

/// The service's routes.
fn router(app: App) -> Router {
    Router::new()
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{id}/groups", get(list_groups).post(create_group))
        .route("/groups/{id}/scopes", post(create_scope))
        .route("/groups/{id}/deployments", get(list_deployments).post(create_deployment))
        .route("/deployments/{id}/jobs", post(submit_job))
        .route("/jobs/{id}", get(get_job))
        .with_state(app)
}

/// A random bearer token.
fn token() -> Result<String> {
    let mut bytes = [0u8; 16];
    eyrie::system::os_random(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The demo users (created on the first run) and a token for each.
async fn demo_users(eyrie: &Eyrie) -> Result<Vec<(String, UserId)>> {
    let mut out = Vec::new();
    for (name, email) in [("Olivia Owner", "olivia@acme.example"), ("Uma User", "uma@acme.example")] {
        let email: eyrie::Email = email.parse()?;
        let user = match eyrie.find_user_by_email(Actor::System, &email).await? {
            Some(u) => u,
            None => {
                let input = NewUser::new(name.parse()?, email);
                eyrie.register_user(Actor::System, input).await?
            }
        };
        out.push((name.to_owned(), user.id));
    }
    Ok(out)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let addr = std::env::var("EYRIE_PORTAL_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let eyrie = Eyrie::builder().data_dir("portal-data").build().await?;
    let engine = Engine::builder(&eyrie).manifest_dir("portal-data/manifests").build()?;
    let mut tokens = HashMap::new();
    for (name, user) in demo_users(&eyrie).await? {
        let t = token()?;
        println!("{name}: Authorization: Bearer {t}");
        tokens.insert(t, user);
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let jobs = tokio::spawn({
        let engine = engine.clone();
        async move { engine.serve(std::time::Duration::from_secs(2), async { stopped.await.unwrap_or_default() }).await }
    });
    let app = App { eyrie, engine, tokens: Arc::new(tokens) };
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| Error::backend(e.to_string(), false))?;
    println!("listening on http://{addr}");
    let served = axum::serve(listener, router(app))
        .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or_default() })
        .await;
    let _ = stop.send(());
    let _ = jobs.await;
    served.map_err(|e| Error::backend(e.to_string(), false))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use axum::body::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use serde_json::Value;

    use super::*;

    struct Portal {
        base: String,
        client: Client<HttpConnector, Full<Bytes>>,
        _data: tempfile::TempDir,
    }

    impl Portal {
        /// One request over loopback, bounded by a time-out.
        async fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
            let mut request = axum::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
            if let Some(t) = token {
                request = request.header("authorization", format!("Bearer {t}"));
            }
            let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
            let request = request.header("content-type", "application/json").body(Full::new(body)).unwrap();
            let response = tokio::time::timeout(Duration::from_secs(10), self.client.request(request))
                .await
                .expect("the portal did not answer within 10 s")
                .unwrap();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        }
    }

    /// The portal on a free loopback port, with an active cluster (set up
    /// by a platform administrator) and users `owner`, `viewer` (invited
    /// later) and `stranger`.
    async fn start() -> (Portal, Eyrie, HashMap<&'static str, (String, UserId)>, u64) {
        let data = tempfile::tempdir().unwrap();
        let eyrie = Eyrie::builder().data_dir(data.path()).build().await.unwrap();
        let engine = Engine::builder(&eyrie).manifest_dir(data.path().join("manifests")).build().unwrap();
        let root = NewUser::new("Root".parse().unwrap(), "root@example.org".parse().unwrap()).with_platform_admin(true);
        let root = eyrie.actor(eyrie.register_user(Actor::System, root).await.unwrap().id).await.unwrap();
        let cluster = NewCluster::new("Cluster 9".parse().unwrap(), "uid-9".parse().unwrap(), NewConnection::InCluster);
        let cluster = eyrie.create_cluster(root, cluster).await.unwrap();
        for state in [ClusterState::Init, ClusterState::Active] {
            eyrie.transition_cluster(root, cluster.id, state).await.unwrap();
        }
        let mut users = HashMap::new();
        let mut tokens = HashMap::new();
        for who in ["owner", "viewer", "stranger"] {
            let input = NewUser::new(who.parse().unwrap(), format!("{who}@example.org").parse().unwrap());
            let user = eyrie.register_user(Actor::System, input).await.unwrap();
            let t = token().unwrap();
            tokens.insert(t.clone(), user.id);
            users.insert(who, (t, user.id));
        }
        let app = App { eyrie: eyrie.clone(), engine, tokens: Arc::new(tokens) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router(app)).await });
        let client = Client::builder(TokioExecutor::new()).build_http();
        (Portal { base, client, _data: data }, eyrie, users, cluster.id.0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_portal_over_loopback() {
        let (portal, eyrie, users, cluster) = start().await;
        let owner = Some(users["owner"].0.as_str());
        let viewer = Some(users["viewer"].0.as_str());
        let stranger = Some(users["stranger"].0.as_str());

        assert_eq!(portal.send("GET", "/projects", None, None).await.0, 401);
        assert_eq!(portal.send("GET", "/projects", Some("not-a-token"), None).await.0, 401);

        let (status, project) = portal.send("POST", "/projects", owner, Some(json!({"name": "Acme"}))).await;
        assert_eq!(status, 201, "{project}");
        let project_id = project["id"].as_u64().unwrap();
        let (status, again) = portal.send("POST", "/projects", owner, Some(json!({"name": "Acme"}))).await;
        assert_eq!((status, again["error"].as_str()), (409, Some("AlreadyExists")), "{again}");
        let (status, invalid) = portal.send("POST", "/projects", owner, Some(json!({"name": ""}))).await;
        assert_eq!((status, invalid["error"].as_str()), (422, Some("Invalid")), "{invalid}");
        let (status, listed) = portal.send("GET", "/projects", owner, None).await;
        assert_eq!((status, listed.as_array().map(Vec::len)), (200, Some(1)));

        let body = json!({"name": "Shop", "group_type": "odoo", "cluster_ids": [cluster]});
        let (status, group) = portal.send("POST", &format!("/projects/{project_id}/groups"), owner, Some(body)).await;
        assert_eq!(status, 201, "{group}");
        let group_id = group["id"].as_u64().unwrap();
        let (status, scope) =
            portal.send("POST", &format!("/groups/{group_id}/scopes"), owner, Some(json!({"code": "prod"}))).await;
        assert_eq!(status, 201, "{scope}");
        let body = json!({"name": "shop", "scope_id": scope["id"]});
        let path = format!("/groups/{group_id}/deployments");
        let (status, deployment) = portal.send("POST", &path, owner, Some(body.clone())).await;
        assert_eq!(status, 201, "{deployment}");
        let deployment_id = deployment["id"].as_u64().unwrap();

        // A stranger learns nothing; a member with the user role is refused.
        let (status, _) = portal.send("GET", &format!("/projects/{project_id}/groups"), stranger, None).await;
        assert_eq!(status, 404);
        let owner_actor = eyrie.actor(users["owner"].1).await.unwrap();
        let viewer_actor = eyrie.actor(users["viewer"].1).await.unwrap();
        let email = "viewer@example.org".parse().unwrap();
        let invitation = eyrie.invite(owner_actor, ProjectId(project_id), email, Role::User).await.unwrap();
        eyrie.answer_invitation(viewer_actor, invitation.id, true).await.unwrap();
        let (status, listed) = portal.send("GET", &path, viewer, None).await;
        assert_eq!((status, listed.as_array().map(Vec::len)), (200, Some(1)));
        let (status, refused) =
            portal.send("POST", &path, viewer, Some(json!({"name": "mine", "scope_id": scope["id"]}))).await;
        assert_eq!((status, refused["error"].as_str()), (403, Some("PermissionDenied")), "{refused}");

        // Jobs: Deploy on a draft is refused with a reason; Initialize runs.
        let jobs = format!("/deployments/{deployment_id}/jobs");
        let (status, early) = portal.send("POST", &jobs, owner, Some(json!({"action": "deploy"}))).await;
        assert_eq!(status, 422, "{early}");
        let (status, job) = portal.send("POST", &jobs, owner, Some(json!({"action": "initialize"}))).await;
        assert_eq!(status, 201, "{job}");
        let (status, busy) = portal.send("POST", &jobs, owner, Some(json!({"action": "initialize"}))).await;
        assert_eq!((status, busy["error"].as_str()), (409, Some("Busy")), "{busy}");
        let (status, read) = portal.send("GET", &format!("/jobs/{}", job["id"]), owner, None).await;
        assert_eq!((status, &read["id"]), (200, &job["id"]));
        let (status, _) = portal.send("GET", &format!("/jobs/{}", job["id"]), stranger, None).await;
        assert_eq!(status, 404);
        let (status, _) = portal.send("POST", &jobs, owner, Some(json!({"action": "explode"}))).await;
        assert_eq!(status, 422, "an unknown action is an unprocessable body");
    }

    #[test]
    fn error_kinds_map_to_statuses() {
        let cases = [
            (Error::not_found("project", "prj-1"), 404),
            (Error::PermissionDenied("no".into()), 403),
            (Error::Conflict("raced".into()), 409),
            (Error::policy("not now"), 422),
            (Error::backend("cluster away", true), 503),
            (Error::backend("broken", false), 500),
        ];
        for (error, status) in cases {
            assert_eq!(status_of(&error).as_u16(), status, "{error}");
        }
    }
}
