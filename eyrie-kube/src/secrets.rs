//! Where a deployment's secret configuration values come from, and the
//! system clock: shared by every executor of this crate (the live
//! [`KubeExecutor`](crate::KubeExecutor) and the
//! [`ManifestDir`](crate::manifests::ManifestDir) writer).

use eyrie_core::executor::DesiredDeployment;
use eyrie_core::{Clock, Result, Timestamp};

use crate::render::DeploymentSecrets;

/// Where the secret values of a deployment's configuration come from (for
/// Odoo: `admin_passwd`, `db_password`). The default gives none.
pub trait SecretSource: Send + Sync {
    /// The secrets to render for `deployment`.
    fn secrets_for(&self, deployment: &DesiredDeployment) -> Result<DeploymentSecrets>;
}

/// A [`SecretSource`] that gives no secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn secrets_for(&self, _: &DesiredDeployment) -> Result<DeploymentSecrets> {
        Ok(DeploymentSecrets::none())
    }
}

/// The system clock, for embedders that do not inject their own.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp(millis)
    }
}
