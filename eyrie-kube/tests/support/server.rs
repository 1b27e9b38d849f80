//! A scripted Kubernetes API for a `kube::Client`, on `tower-test`: each
//! request is recorded and answered with the next scripted reply. A request
//! that does not match the next expected method and path is answered 500 and
//! recorded as unexpected, so the test sees it.

use std::collections::BTreeMap;

use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A status code and a JSON body.
    Json(u16, Value),
    /// No answer: the transport fails with a time-out.
    TimedOut,
}

/// One scripted exchange: the request expected and the answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: Method,
    pub path: String,
    pub answer: Answer,
}

impl Exchange {
    pub fn new(method: Method, path: &str, answer: Answer) -> Self {
        Exchange { method, path: path.to_owned(), answer }
    }
    pub fn get(path: &str, status: u16, body: Value) -> Self {
        Self::new(Method::GET, path, Answer::Json(status, body))
    }
    pub fn patch(path: &str, status: u16, body: Value) -> Self {
        Self::new(Method::PATCH, path, Answer::Json(status, body))
    }
    pub fn delete(path: &str, status: u16, body: Value) -> Self {
        Self::new(Method::DELETE, path, Answer::Json(status, body))
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub content_type: Option<String>,
    pub body: Option<Value>,
    pub expected: bool,
}

impl Seen {
    /// `METHOD path`, for comparing conversations.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
    pub fn is_write(&self) -> bool {
        self.method != Method::GET
    }
}

/// A `kube::Client` answered by `script`; the handle yields every request
/// seen once the client (and everything holding it) is dropped.
pub fn scripted(script: Vec<Exchange>) -> (kube::Client, JoinHandle<Vec<Seen>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let task = tokio::spawn(async move {
        let mut script = script.into_iter();
        let mut seen = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let query = parts
                .uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (k.to_owned(), decode(v))
                })
                .collect();
            let next = script.next();
            let expected = next.as_ref().is_some_and(|e| e.method == parts.method && e.path == parts.uri.path());
            seen.push(Seen {
                method: parts.method.clone(),
                path: parts.uri.path().to_owned(),
                query,
                content_type: parts.headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()),
                body: (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap()),
                expected,
            });
            match next.filter(|_| expected).map(|e| e.answer) {
                Some(Answer::Json(code, body)) => {
                    let response = Response::builder()
                        .status(code)
                        .header("content-type", "application/json")
                        .body(Body::from(serde_json::to_vec(&body).unwrap()))
                        .unwrap();
                    send.send_response(response);
                }
                Some(Answer::TimedOut) => {
                    send.send_error(std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out"));
                }
                None => {
                    let body = status(500, "InternalError", "unexpected request in the test script");
                    let response = Response::builder().status(500).body(Body::from(serde_json::to_vec(&body).unwrap()));
                    send.send_response(response.unwrap());
                }
            }
        }
        seen
    });
    (kube::Client::new(service, "default"), task)
}

fn decode(v: &str) -> String {
    let mut out = Vec::new();
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A Kubernetes `Status` failure body.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message})
}

/// A list answer with `items`.
pub fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
}
