//! A mockall mock of the cluster executor, shared by the tests that set
//! expectations on its calls (`#[path]`-included: each test binary compiles
//! its own copy).

use async_trait::async_trait;
use eyrie_core::executor::{ClusterAccess, ClusterExecutor, DesiredDeployment, PodUsage};
use eyrie_core::{ObservedState, Result};

mockall::mock! {
    #[derive(Debug)]
    pub Exec {}
    #[async_trait]
    impl ClusterExecutor for Exec {
        async fn ensure_namespace(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
        async fn apply(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
        async fn pause(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
        async fn resume(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
        async fn remove(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
        async fn observe(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<ObservedState>;
        async fn pod_metrics(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<Vec<PodUsage>>;
    }
}
