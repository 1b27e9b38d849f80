//! Golden key bytes: the stored format of keys, pinned. A failure here means
//! a change re-keys stored data; fix the change, not the expected bytes.

use super::*;
use crate::model::{GroupType, JobAction};
use crate::{JobState, Timestamp};

fn entry(index: Index, kind: EntityKind, id: u64) -> String {
    hex(&index.entry(RecordKey::new(kind, id)))
}

#[test]
fn index_keys_are_pinned() {
    let book = Index::Books(Index::book_parent(GroupType::Pgo, JobAction::Redeploy));
    assert_eq!(entry(book, EntityKind::Book, 5), "1b0000000000000102150000000000000005");
    let book = Index::Books(Index::book_parent(GroupType::None, JobAction::Restore));
    assert_eq!(entry(book, EntityKind::Book, 1), "1b0000000000000306150000000000000001");
    let jobs = Index::JobsInState(Index::job_state_parent(JobState::Cancel));
    assert_eq!(entry(jobs, EntityKind::Job, 0x0a0b), "1d0000000000000005160000000000000a0b");
    let timers = Index::DeploymentTimers(Index::time_parent(Timestamp::from_unix_seconds(1_767_225_600)));
    assert_eq!(entry(timers, EntityKind::Deployment, 3), "1e000000006955b900040000000000000003");
    let scopes = Index::ScopeLiveDeployments(ScopeId(0x0102_0304_0506_0708));
    assert_eq!(entry(scopes, EntityKind::Deployment, 9), "050102030405060708040000000000000009");
    assert_eq!(hex(&Index::GlobalAudit.prefix()), "1a0000000000000000");
    let due = Index::MonitorsDue(Index::time_parent(Timestamp::from_unix_seconds(1_767_225_600)));
    assert_eq!(entry(due, EntityKind::Monitor, 3), "28000000006955b9000b0000000000000003");
    let stale = Index::MonitorsStale(Index::time_parent(Timestamp::from_unix_seconds(1_767_225_600)));
    assert_eq!(entry(stale, EntityKind::Monitor, 3), "29000000006955b9000b0000000000000003");
    let logs = Index::MonitorLogsAt(Index::monitor_log_parent(MonitorId(1), Timestamp::from_unix_seconds(600)));
    assert_eq!(&entry(logs, EntityKind::MonitorLog, 2)[..2], "2a");
    assert!(entry(logs, EntityKind::MonitorLog, 2).ends_with("0000000a0c0000000000000002"), "10 minutes, then the key");
    let backup = EntityKind::Backup;
    assert_eq!(&entry(Index::ScopeBackups(ScopeId(5)), backup, 1)[..18], "2b0000000000000005");
    assert_eq!(&entry(Index::DatasourceBackups(crate::ids::DatasourceId(6)), backup, 1)[..18], "2c0000000000000006");
    let review = Index::BackupsToReview(Index::time_parent(Timestamp::from_unix_seconds(1_767_225_600)));
    assert_eq!(&entry(review, backup, 1)[..18], "2d000000006955b900");
}

#[test]
fn unique_keys_are_pinned() {
    let version = UniqueKey::BookVersion(Index::book_parent(GroupType::Odoo, JobAction::Deploy), 12);
    assert_eq!(hex(&version.to_bytes()), hex(b"\x0b\0\0\0\0\0\0\0\x010000000012"));
    let slug = UniqueKey::GroupSlug(ProjectId(2), "web".into());
    assert_eq!(hex(&slug.to_bytes()), "020000000000000002776562");
    assert_eq!(hex(&UniqueKey::ActiveJob(DeploymentId(7)).to_bytes()), "0c0000000000000007");
}

#[test]
fn record_keys_are_pinned() {
    assert_eq!(hex(&RecordKey::new(EntityKind::Deployment, 0x11).to_bytes()), "040000000000000011");
    assert_eq!(hex(&RecordKey::new(EntityKind::StepStats, 1).to_bytes()), "170000000000000001");
}

/// The tags equal the positions the previous version stored (it keyed by
/// position in the `ALL` lists), so stores written before stable tags keep
/// their keys. Each list is read once here and never again by the key code.
#[test]
fn stable_tags_match_the_previous_positional_keys() {
    for (position, &t) in GroupType::ALL.iter().enumerate() {
        assert_eq!(usize::from(group_type_tag(t)), position, "{t:?}");
    }
    for (position, &a) in JobAction::ALL.iter().enumerate() {
        assert_eq!(usize::from(job_action_tag(a)), position, "{a:?}");
    }
    for (position, &s) in JobState::ALL.iter().enumerate() {
        assert_eq!(usize::from(job_state_tag(s)), position, "{s:?}");
    }
}
