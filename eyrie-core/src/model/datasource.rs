//! [`Datasource`]: an external store (S3-like bucket or database).

use crate::clock::Timestamp;
use crate::ids::{DatasourceId, ProjectId};
use crate::secret::SealedSecret;
use crate::validate::{Name, Url};

/// The kind of external store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// An S3-compatible object store.
    S3like,
    /// A database server.
    Database,
}

/// What the datasource is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasourceUsage {
    /// Destination of remote backups.
    RemoteBackup,
    /// An external database for deployments.
    ExternalDatabase,
    /// Anything else.
    Other,
}

/// An external store of a project. Credentials and connection strings are sealed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Datasource {
    /// Identity.
    pub id: DatasourceId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// Display name.
    pub name: Name,
    /// S3-like or database.
    pub data_type: DataType,
    /// What it is for.
    pub usage: DatasourceUsage,
    /// Endpoint URL (S3-like).
    pub endpoint: Option<Url>,
    /// Bucket name (S3-like).
    pub bucket: Option<String>,
    /// Signing region (S3-like); `us-east-1` when unset.
    #[serde(default)]
    pub region: Option<String>,
    /// Path-style addressing (S3-like); on when unset and an endpoint is
    /// set (what S3-compatible servers expect), off for AWS itself.
    #[serde(default)]
    pub path_style: Option<bool>,
    /// Sealed connection string (database); it usually embeds a password.
    pub connection: Option<SealedSecret>,
    /// Sealed credentials (access keys, passwords).
    pub credentials: Option<SealedSecret>,
    /// When it was added.
    pub created_at: Timestamp,
}
