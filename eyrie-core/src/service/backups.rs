//! Backups as the service offers them: reading and listing (`user` and up,
//! [`Action::ReadBackups`]), pre-signed download URLs (`developer` and up,
//! [`Action::DownloadBackups`], audited), and opening a backup's bucket for
//! the engine. Taking and restoring backups are jobs: see
//! [`Engine::backup_now`](crate::Engine::backup_now) and
//! [`Engine::restore`](crate::Engine::restore).

use std::fmt;
use std::time::Duration;

use super::{Eyrie, access::as_seen, allow};
use crate::backups::keys::DeploymentPrefix;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::executor::ObjectStorage;
use crate::ids::{BackupId, DatasourceId, DeploymentId, ScopeId};
use crate::model::{Backup, BackupState, Datasource, Scope};
use crate::permission::{Action, Actor};
use crate::storage::{EntityKind, Index, RecordKey, StoreExt, Transaction};
use crate::validate::ValidationError;

/// The most backups one page holds.
pub const MAX_BACKUP_PAGE: usize = 200;
/// How long a download URL lives unless the caller says otherwise.
pub const DEFAULT_DOWNLOAD_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest a download URL may live.
pub const MAX_DOWNLOAD_TTL: Duration = Duration::from_secs(24 * 3600);

/// Where a page of backups starts: after this backup (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupCursor {
    /// The last backup's start.
    pub started_at: Timestamp,
    /// The last backup's id (ties go by id).
    pub id: BackupId,
}

/// A page request: newest first, `limit` in `1..=`[`MAX_BACKUP_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupQuery {
    /// Where the previous page ended ([`BackupPage::next`]).
    pub after: Option<BackupCursor>,
    /// Backups in the page.
    pub limit: usize,
}

impl BackupQuery {
    /// The first page of up to `limit` backups.
    pub fn first(limit: usize) -> Self {
        BackupQuery { after: None, limit }
    }

    /// The page after `cursor`.
    pub fn after(cursor: BackupCursor, limit: usize) -> Self {
        BackupQuery { after: Some(cursor), limit }
    }

    fn check(&self) -> Result<(), ValidationError> {
        if (1..=MAX_BACKUP_PAGE).contains(&self.limit) {
            Ok(())
        } else {
            Err(ValidationError::field("limit", self.limit, format!("must be 1-{MAX_BACKUP_PAGE}")))
        }
    }
}

/// One page of backups, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPage {
    /// The backups.
    pub backups: Vec<Backup>,
    /// The cursor of the next page, when there may be more.
    pub next: Option<BackupCursor>,
}

/// A pre-signed GET URL for one object of a backup. The URL is a bearer
/// credential until it expires: `Debug` shows it without its query.
#[derive(Clone, PartialEq, Eq)]
pub struct DownloadLink {
    /// The object's key.
    pub key: String,
    /// The URL.
    pub url: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

impl fmt::Debug for DownloadLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.url.split_once('?').map_or(self.url.as_str(), |(path, _)| path);
        f.debug_struct("DownloadLink")
            .field("key", &self.key)
            .field("url", &format_args!("{shown}?[signature redacted]"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

fn newest_first(mut backups: Vec<Backup>, query: BackupQuery) -> BackupPage {
    backups.sort_by_key(|b| std::cmp::Reverse((b.started_at, b.id)));
    let start = match query.after {
        Some(c) => backups.iter().position(|b| (b.started_at, b.id) < (c.started_at, c.id)).unwrap_or(backups.len()),
        None => 0,
    };
    let rest = backups.len() - start;
    let backups: Vec<Backup> = backups.into_iter().skip(start).take(query.limit).collect();
    let next = (rest > query.limit)
        .then(|| backups.last().map(|b| BackupCursor { started_at: b.started_at, id: b.id }))
        .flatten();
    BackupPage { backups, next }
}

/// Whether `key` is a plain key inside the deployment's prefix.
pub(crate) fn inside(key: &str, deployment_prefix: &str) -> bool {
    key.starts_with(deployment_prefix)
        && key.len() > deployment_prefix.len()
        && !key.split('/').any(|segment| segment == ".." || segment == ".")
}

/// `<namespace uid>/<deployment id>/`.
pub(crate) fn deployment_prefix(d: &crate::model::Deployment) -> String {
    format!("{}/", DeploymentPrefix::new(d.namespace_uid, d.id))
}

impl Eyrie {
    /// The backup client, or the error a caller gets without one.
    pub(crate) fn backup_objects(&self) -> Result<&std::sync::Arc<dyn crate::backups::BackupObjects>> {
        self.objects.as_ref().ok_or_else(|| Error::Backend {
            message: "this Eyrie has no backup bucket client (Eyrie::with_backup_objects)".into(),
            retryable: false,
        })
    }

    /// Opens an `s3like` datasource's bucket (no authorization: for the
    /// engine and for calls that authorized already).
    pub(crate) async fn object_storage(&self, id: DatasourceId) -> Result<ObjectStorage> {
        let ds = self.store.fetch::<Datasource>(id.0).await?.value;
        let Some(sealed) = &ds.credentials else {
            return Err(Error::policy(format!("datasource {id} has no credentials")));
        };
        let credentials = self.sealer.open(sealed, &super::datasources::context(id, "credentials"))?;
        ObjectStorage::from_datasource(&ds, &credentials)
    }

    /// One backup (`user` and up on its deployment). A stranger gets the
    /// `NotFound` of a missing id.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn get_backup(&self, actor: Actor, id: BackupId) -> Result<Backup> {
        let actor = self.identify(actor).await?;
        let named = RecordKey::new(EntityKind::Backup, id.0);
        let backup = self.store.find::<Backup>(id.0).await?.ok_or_else(|| super::access::unseen(named))?;
        let da = self.deployment_access(actor, backup.value.deployment_id).await.map_err(as_seen(named))?;
        allow(actor, Action::ReadBackups, &da.resource())?;
        Ok(backup.value)
    }

    /// A deployment's backups, newest first, paged (`user` and up).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, deployment = %deployment), err(level = "debug", Display))]
    pub async fn list_backups(&self, actor: Actor, deployment: DeploymentId, query: BackupQuery) -> Result<BackupPage> {
        let actor = self.identify(actor).await?;
        query.check()?;
        let da = self.deployment_access(actor, deployment).await?;
        allow(actor, Action::ReadBackups, &da.resource())?;
        let all = self.store.children::<Backup>(Index::DeploymentBackups(deployment)).await?;
        Ok(newest_first(all.into_iter().map(|v| v.value).collect(), query))
    }

    /// The backups taken in a scope, newest first, paged (`user` and up on
    /// the scope's group).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, scope = %scope), err(level = "debug", Display))]
    pub async fn list_scope_backups(&self, actor: Actor, scope: ScopeId, query: BackupQuery) -> Result<BackupPage> {
        let actor = self.identify(actor).await?;
        query.check()?;
        let named = RecordKey::new(EntityKind::Scope, scope.0);
        let s = self.store.find::<Scope>(scope.0).await?.ok_or_else(|| super::access::unseen(named))?;
        let ga = self.group_access(actor, s.value.group_id).await.map_err(as_seen(named))?;
        allow(actor, Action::ReadBackups, &ga.resource())?;
        let all = self.store.children::<Backup>(Index::ScopeBackups(scope)).await?;
        Ok(newest_first(all.into_iter().map(|v| v.value).collect(), query))
    }

    /// Pre-signed GET URLs for every object of a `done` backup (`developer`
    /// and up), valid for `ttl` (default 15 minutes, 1 s to 24 h). Issuing
    /// them is an audit event. Only keys inside the backup's own
    /// deployment prefix are signed, so no URL names another tenant's object.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn download_urls(&self, actor: Actor, id: BackupId, ttl: Option<Duration>) -> Result<Vec<DownloadLink>> {
        let actor = self.identify(actor).await?;
        let ttl = ttl.unwrap_or(DEFAULT_DOWNLOAD_TTL);
        if ttl < Duration::from_secs(1) || ttl > MAX_DOWNLOAD_TTL {
            return Err(ValidationError::field("ttl", format!("{}s", ttl.as_secs()), "must be 1 s to 24 h").into());
        }
        let named = RecordKey::new(EntityKind::Backup, id.0);
        self.retrying(|| async {
            let read = self.store.find::<Backup>(id.0).await?.ok_or_else(|| super::access::unseen(named))?;
            let b = &read.value;
            let da = self.deployment_access(actor, b.deployment_id).await.map_err(as_seen(named))?;
            allow(actor, Action::DownloadBackups, &da.resource())?;
            if b.state != BackupState::Done {
                return Err(Error::policy(format!(
                    "backup {id} is {}: only done backups can be downloaded",
                    b.state.as_str()
                )));
            }
            let Some(ds) = b.datasource_id else {
                return Err(Error::policy(format!("backup {id} names no datasource")));
            };
            let prefix = deployment_prefix(&da.deployment.value);
            if let Some(outside) = b.object_keys.iter().find(|k| !inside(k, &prefix)) {
                return Err(Error::Corrupt {
                    record: id.to_string(),
                    reason: format!("object key {outside:?} is outside the deployment's prefix"),
                });
            }
            let storage = self.object_storage(ds).await?;
            let objects = self.backup_objects()?;
            let expires_at = self.now().plus_seconds(ttl.as_secs());
            let mut links = Vec::with_capacity(b.object_keys.len());
            for key in &b.object_keys {
                let url = objects.presign_get(&storage, key, ttl).await?;
                links.push(DownloadLink { key: key.clone(), url, expires_at });
            }
            let tx: Transaction = da.access.pinned().unchanged(&da.deployment).unchanged(&read);
            self.commit(tx, self.audit(actor, Some(b.project_id), "backup.download", id)).await?;
            Ok(links)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(id: u64, at: i64) -> Backup {
        let mut b = Backup::started(
            BackupId(id),
            crate::ids::ProjectId(1),
            DeploymentId(2),
            crate::model::BackupKind::Manual,
            Timestamp::from_unix_seconds(at),
        );
        b.state = BackupState::Done;
        b
    }

    #[test]
    fn pages_go_newest_first_and_end() {
        let all: Vec<Backup> = (1..=5).map(|i| backup(i, i as i64 * 10)).collect();
        let first = newest_first(all.clone(), BackupQuery::first(2));
        assert_eq!(first.backups.iter().map(|b| b.id.0).collect::<Vec<_>>(), [5, 4]);
        let second = newest_first(all.clone(), BackupQuery::after(first.next.unwrap(), 2));
        assert_eq!(second.backups.iter().map(|b| b.id.0).collect::<Vec<_>>(), [3, 2]);
        let third = newest_first(all, BackupQuery::after(second.next.unwrap(), 2));
        assert_eq!(third.backups.iter().map(|b| b.id.0).collect::<Vec<_>>(), [1]);
        assert_eq!(third.next, None);
    }

    #[test]
    fn keys_outside_the_deployment_prefix_are_refused() {
        let p = "00000000000000a1/0000000000000002/";
        assert!(inside("00000000000000a1/0000000000000002/0000000000000003/db.dump", p));
        assert!(!inside("00000000000000a2/0000000000000002/0000000000000003/db.dump", p));
        assert!(!inside("00000000000000a1/0000000000000002/../../x/db.dump", p));
        assert!(!inside(p, p));
    }

    #[test]
    fn a_download_link_does_not_print_its_signature() {
        let link = DownloadLink {
            key: "k".into(),
            url: "http://127.0.0.1:9000/b/k?X-Amz-Signature=abcdef".into(),
            expires_at: Timestamp::from_unix_seconds(0),
        };
        let shown = format!("{link:?}");
        assert!(!shown.contains("abcdef"), "{shown}");
        assert!(shown.contains("http://127.0.0.1:9000/b/k"), "{shown}");
    }
}
