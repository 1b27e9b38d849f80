use super::*;
use crate::model::Project;
use crate::storage::Entity;
use crate::{NamespaceUid, ProjectId, Slug, Timestamp, UserId};

fn project() -> Project {
    Project {
        id: ProjectId(1),
        name: "Acme".parse().unwrap(),
        slug: Slug::from_name("Acme"),
        owner: UserId(7),
        domain: None,
        primary_deployment: None,
        portal_blocked: false,
        namespace_uid: NamespaceUid(1001),
        created_at: Timestamp::from_unix_seconds(1_767_225_600),
    }
}

/// A version-1 envelope, byte for byte as the previous release wrote it.
const V1_PROJECT: &[u8] = include_bytes!("../testdata/v1_project.envelope");

#[test]
fn a_version_1_envelope_is_upgraded_on_read() {
    let key = project().key();
    assert_eq!(V1_PROJECT[0], 1, "the fixture is a version-1 envelope");
    let stored = decode(key, V1_PROJECT).unwrap();
    assert_eq!(stored.revision, Revision(3));
    assert_eq!(stored.record, project().into_record());
    assert_eq!(revision_of(key, V1_PROJECT).unwrap(), Revision(3));
    let rewritten = encode(&stored.record, stored.revision).unwrap();
    assert_eq!(rewritten[0], FORMAT_VERSION);
    assert!(rewritten.len() < V1_PROJECT.len(), "the current body drops the enum tag");
    assert_eq!(decode(key, &rewritten).unwrap(), stored);
}

#[test]
fn current_envelopes_round_trip_and_carry_no_enum_tag() {
    let record = project().into_record();
    let bytes = encode(&record, Revision(9)).unwrap();
    assert_eq!(bytes.len(), encoded_len(&record).unwrap());
    assert!(!bytes.windows(9).any(|w| w == b"\"Project\""), "the body is the entity alone");
    assert_eq!(decode(record.key(), &bytes).unwrap(), Stored { revision: Revision(9), record });
}

#[test]
fn unknown_versions_and_wrong_kinds_are_corrupt() {
    let record = project().into_record();
    let mut bytes = encode(&record, Revision(1)).unwrap();
    let other = RecordKey::new(crate::storage::EntityKind::Group, 1);
    assert_eq!(decode(other, &bytes).unwrap_err().kind(), crate::ErrorKind::Corrupt);
    bytes[0] = FORMAT_VERSION + 1;
    let e = decode(record.key(), &bytes).unwrap_err();
    assert!(e.to_string().contains("unknown format version"), "{e}");
    assert!(revision_of(record.key(), &bytes).is_err());
}

#[test]
fn oversized_records_are_refused_naming_kind_and_sizes_only() {
    let record = project().into_record();
    let len = encoded_len(&record).unwrap();
    assert!(check_size(&record, len).is_ok());
    let e = check_size(&record, len - 1).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Invalid);
    let text = e.to_string();
    assert!(text.contains("project") && text.contains(&len.to_string()) && text.contains(&(len - 1).to_string()));
    assert!(!text.contains("Acme"), "no content in the message: {text}");
}
