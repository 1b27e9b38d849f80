//! Reaching a cluster: a kube-rs [`Client`] from a [`ClusterAccess`], and
//! [`Clients`], which keeps one client per cluster.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use eyrie_core::executor::{ClusterAccess, ClusterCredentials};
use eyrie_core::{ClusterId, Error, Result, SecretString};
use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

/// The credentials a cached client was built from, to notice a change.
#[derive(Clone, PartialEq, Eq)]
enum Built {
    Kubeconfig(SecretString),
    InCluster,
}

impl Built {
    fn of(credentials: &ClusterCredentials) -> Built {
        match credentials {
            ClusterCredentials::Kubeconfig(k) => Built::Kubeconfig(k.clone()),
            ClusterCredentials::InCluster => Built::InCluster,
        }
    }
}

/// One kube-rs [`Client`] per cluster, built on first use and reused (a
/// client holds a connection pool and, for exec or OIDC credentials, a
/// token cache; building one per call throws both away). A client is
/// rebuilt when the cluster's credentials change, so a rotated kubeconfig
/// takes effect at the next call. `Debug` shows the cluster ids only.
#[derive(Default)]
pub struct Clients {
    by_cluster: Mutex<HashMap<ClusterId, (Built, Client)>>,
    builds: AtomicU64,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let map = self.by_cluster.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Clients").field("clusters", &map.keys().collect::<Vec<_>>()).finish()
    }
}

impl Clients {
    /// The client of `access.cluster_id`: the cached one when it was built
    /// from the same credentials, else a new one (see [`client_for`]), kept.
    pub async fn get(&self, access: &ClusterAccess) -> Result<Client> {
        let built = Built::of(&access.credentials);
        {
            let map = self.by_cluster.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((from, client)) = map.get(&access.cluster_id)
                && *from == built
            {
                return Ok(client.clone());
            }
        }
        // Built outside the lock (it may read files); two callers racing on a
        // new cluster both build, and the last one kept wins: harmless.
        let client = client_for(access).await?;
        self.builds.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(cluster = %access.slug, "built a kube client");
        let mut map = self.by_cluster.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(access.cluster_id, (built, client.clone()));
        Ok(client)
    }

    /// How many clients were built so far (for metrics and tests).
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }

    /// How many clusters have a client.
    pub fn len(&self) -> usize {
        self.by_cluster.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no client was built yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Installs the rustls crypto provider this crate's features name, unless
/// one is installed already (by an earlier call or the embedding program).
fn install_crypto_provider() {
    #[cfg(all(feature = "rustls-tls", feature = "ring"))]
    let _ = rustls::crypto::ring::default_provider().install_default();
    #[cfg(all(feature = "rustls-tls", feature = "aws-lc-rs", not(feature = "ring")))]
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client for `access`: from its stored kubeconfig (current context), or
/// the service account of the pod Eyrie runs in.
///
/// The process's rustls crypto provider is the one this crate's features
/// name (`ring` by default), installed on first use unless the embedding
/// program installed one already: when other crates of the same build turn
/// on both ring and aws-lc-rs, rustls cannot choose by itself.
///
/// Failures are final (`retryable: false`): a kubeconfig that cannot be read
/// will not get better by asking again. Messages never quote the kubeconfig.
pub async fn client_for(access: &ClusterAccess) -> Result<Client> {
    install_crypto_provider();
    let slug = &access.slug;
    let config = match &access.credentials {
        ClusterCredentials::Kubeconfig(secret) => {
            // The parser's message may quote the document (tokens, keys): leave it out.
            let kubeconfig = Kubeconfig::from_yaml(secret.expose())
                .map_err(|_| Error::backend(format!("the kubeconfig of cluster {slug} is not valid YAML"), false))?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| Error::backend(format!("the kubeconfig of cluster {slug} cannot be used: {e}"), false))?
        }
        ClusterCredentials::InCluster => Config::incluster()
            .map_err(|e| Error::backend(format!("cluster {slug}: no in-cluster configuration: {e}"), false))?,
    };
    Client::try_from(config).map_err(|e| Error::backend(format!("cluster {slug}: cannot build a client: {e}"), false))
}

#[cfg(test)]
mod tests {
    use eyrie_core::ErrorKind;

    use super::*;

    fn access(kubeconfig: &str) -> ClusterAccess {
        ClusterAccess {
            cluster_id: ClusterId(1),
            slug: "cluster-1".parse().unwrap(),
            credentials: ClusterCredentials::Kubeconfig(SecretString::new(kubeconfig)),
        }
    }

    #[tokio::test]
    async fn a_broken_kubeconfig_fails_without_quoting_it() {
        let Err(err) = client_for(&access("token: [hunter2-secret")).await else {
            panic!("a broken kubeconfig was accepted")
        };
        assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Backend, false));
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("cluster-1"), "{err}");
    }

    fn kubeconfig(namespace: &str) -> String {
        KUBECONFIG.replace("namespace: ns", &format!("namespace: {namespace}"))
    }

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
contexts:
- name: test
  context: {cluster: test, user: test, namespace: ns}
users:
- name: test
  user: {token: hunter2-secret}
"#;

    #[tokio::test]
    async fn a_kubeconfig_reaches_its_current_context() {
        let client = client_for(&access(KUBECONFIG)).await.unwrap();
        assert_eq!(client.default_namespace(), "ns");
    }

    #[tokio::test]
    async fn one_client_per_cluster_until_its_credentials_change() {
        let clients = Clients::default();
        let first = clients.get(&access(&kubeconfig("first"))).await.unwrap();
        assert_eq!(first.default_namespace(), "first");
        // The same credentials again, many times: the cached client.
        for _ in 0..5 {
            let again = clients.get(&access(&kubeconfig("first"))).await.unwrap();
            assert_eq!(again.default_namespace(), "first");
        }
        assert_eq!((clients.len(), clients.builds()), (1, 1));
        // Rotated credentials: a new client, replacing the old one.
        let rotated = clients.get(&access(&kubeconfig("second"))).await.unwrap();
        assert_eq!(rotated.default_namespace(), "second");
        assert_eq!((clients.len(), clients.builds()), (1, 2));
        let mut other = access(&kubeconfig("third"));
        other.cluster_id = ClusterId(2);
        assert_eq!(clients.get(&other).await.unwrap().default_namespace(), "third");
        assert_eq!((clients.len(), clients.builds()), (2, 3));
        assert!(!format!("{clients:?}").contains("hunter2"));
    }
}
