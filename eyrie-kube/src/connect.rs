//! Reaching a cluster: a kube-rs [`Client`] from a [`ClusterAccess`].

use eyrie_core::executor::{ClusterAccess, ClusterCredentials};
use eyrie_core::{Error, Result};
use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

/// A client for `access`: from its stored kubeconfig (current context), or
/// the service account of the pod Eyrie runs in.
///
/// Failures are final (`retryable: false`): a kubeconfig that cannot be read
/// will not get better by asking again. Messages never quote the kubeconfig.
pub async fn client_for(access: &ClusterAccess) -> Result<Client> {
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
    use eyrie_core::{ClusterId, ErrorKind, SecretString};

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

    #[tokio::test]
    async fn a_kubeconfig_reaches_its_current_context() {
        let kubeconfig = r#"
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
        let client = client_for(&access(kubeconfig)).await.unwrap();
        assert_eq!(client.default_namespace(), "ns");
    }
}
