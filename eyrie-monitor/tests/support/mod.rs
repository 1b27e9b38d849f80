//! Loopback servers the tests control: an axum HTTP server (status,
//! latency, body, redirects) and a TLS server whose certificate comes from
//! a test CA made with rcgen.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the HTTP server answers, changeable while it runs.
#[derive(Debug)]
pub struct Control {
    pub status: AtomicU16,
    pub delay_ms: AtomicU64,
    pub body: Mutex<String>,
    pub requests: AtomicUsize,
    pub peers: Mutex<BTreeSet<SocketAddr>>,
}

impl Control {
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
    pub fn set_delay_ms(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }
    pub fn set_body(&self, body: &str) {
        *self.body.lock().unwrap() = body.to_owned();
    }
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
    pub fn connections(&self) -> usize {
        self.peers.lock().unwrap().len()
    }
}

async fn answer(State(c): State<Arc<Control>>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    c.requests.fetch_add(1, Ordering::SeqCst);
    c.peers.lock().unwrap().insert(peer);
    tokio::time::sleep(Duration::from_millis(c.delay_ms.load(Ordering::SeqCst))).await;
    let status = StatusCode::from_u16(c.status.load(Ordering::SeqCst)).unwrap();
    let body = c.body.lock().unwrap().clone();
    (status, body).into_response()
}

async fn hop(Path(n): Path<u32>) -> Response {
    let to = if n == 0 { "/".to_owned() } else { format!("/hop/{}", n - 1) };
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn to_private() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "http://10.0.0.1/")]).into_response()
}

/// An HTTP server on 127.0.0.1: `/` answers as `Control` says, `/hop/N`
/// redirects N+1 times before reaching `/`, `/to-private` redirects into 10/8.
pub async fn http_server() -> (SocketAddr, Arc<Control>) {
    let control = Arc::new(Control {
        status: AtomicU16::new(200),
        delay_ms: AtomicU64::new(0),
        body: Mutex::new("all healthy".into()),
        requests: AtomicUsize::new(0),
        peers: Mutex::new(BTreeSet::new()),
    });
    let app = axum::Router::new()
        .route("/", get(answer))
        .route("/hop/{n}", get(hop))
        .route("/to-private", get(to_private))
        .with_state(control.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    (addr, control)
}

/// A test CA and a server certificate for 127.0.0.1 and localhost that
/// expires at midnight UTC `days` days after today.
pub struct Certs {
    pub ca_pem: String,
    pub cert: rustls::pki_types::CertificateDer<'static>,
    pub key: Vec<u8>,
}

pub fn certs(days: i64) -> Certs {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "eyrie test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let today = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 / 86_400;
    let (y, m, d) = eyrie_core::clock::civil_from_days(today + days);
    params.not_after = rcgen::date_time_ymd(y as i32, m as u8, d as u8);
    let cert = params.signed_by(&key, &ca).unwrap();
    Certs { ca_pem: ca.pem(), cert: cert.der().clone(), key: key.serialize_der() }
}

/// A TLS server on 127.0.0.1 with `certs`, answering every request `200 ok`.
pub async fn tls_server(certs: &Certs) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certs.key.clone().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certs.cert.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 65_536 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                let _ = tls.write_all(reply).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}
