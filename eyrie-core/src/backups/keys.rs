//! Deterministic, tenant-scoped object keys.
//!
//! Every object of a backup lives under
//! `<namespace uid>/<deployment id>/<backup id>/<file>`, each id as 16
//! lowercase hex digits (the form of [`Namespace::name_for`]), never a name or
//! a slug: renaming a project, group or deployment moves no object, and two
//! tenants can never produce the same key.
//!
//! [`ObjectKey::parse`] is strict — exactly three 16-digit segments and one
//! plain file name — so a key that merely *starts* like a tenant's prefix
//! (`…/../other`, an extra segment, upper-case hex) is not that tenant's:
//! [`ObjectKey::belongs_to`] and [`key_belongs_to`] answer `false` for it.
//!
//! [`Namespace::name_for`]: crate::Namespace::name_for

use crate::validate::ValidationError;
use crate::{BackupId, DeploymentId, NamespaceUid};
use std::fmt;

/// The longest file name allowed under a backup's prefix.
pub const MAX_FILE_NAME: usize = 128;

/// The prefix of every object of one deployment: `<namespace>/<deployment>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeploymentPrefix {
    /// The project's never-changing namespace uid.
    pub namespace: NamespaceUid,
    /// The deployment backed up.
    pub deployment: DeploymentId,
}

impl DeploymentPrefix {
    /// The prefix of one deployment.
    pub fn new(namespace: NamespaceUid, deployment: DeploymentId) -> Self {
        DeploymentPrefix { namespace, deployment }
    }

    /// The prefix of one backup of this deployment.
    pub fn backup(self, backup: BackupId) -> BackupPrefix {
        BackupPrefix { namespace: self.namespace, deployment: self.deployment, backup }
    }
}

impl fmt::Display for DeploymentPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}/{:016x}", self.namespace.0, self.deployment.0)
    }
}

/// The prefix of every object of one backup:
/// `<namespace>/<deployment>/<backup>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackupPrefix {
    /// The project's never-changing namespace uid.
    pub namespace: NamespaceUid,
    /// The deployment backed up.
    pub deployment: DeploymentId,
    /// The backup.
    pub backup: BackupId,
}

impl BackupPrefix {
    /// The prefix of one backup.
    pub fn new(namespace: NamespaceUid, deployment: DeploymentId, backup: BackupId) -> Self {
        BackupPrefix { namespace, deployment, backup }
    }

    /// The deployment this backup belongs to.
    pub fn deployment_prefix(self) -> DeploymentPrefix {
        DeploymentPrefix { namespace: self.namespace, deployment: self.deployment }
    }

    /// The key of `file` in this backup; `Invalid` for a file name that is
    /// not 1–128 characters of `a-z`, `A-Z`, `0-9`, `.`, `_`, `-`, or is
    /// `.` / `..`.
    pub fn key(self, file: &str) -> Result<ObjectKey, ValidationError> {
        check_file(file)?;
        Ok(ObjectKey { prefix: self, file: file.to_owned() })
    }
}

impl fmt::Display for BackupPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:016x}", self.deployment_prefix(), self.backup.0)
    }
}

/// The full key of one object of one backup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    prefix: BackupPrefix,
    file: String,
}

impl ObjectKey {
    /// Parses a key of the form `<16 hex>/<16 hex>/<16 hex>/<file>`;
    /// anything else is `Invalid`.
    pub fn parse(key: &str) -> Result<ObjectKey, ValidationError> {
        let bad = |why: &str| ValidationError::field("object_key", key, why.to_owned());
        let mut parts = key.split('/');
        let mut id = || -> Result<u64, ValidationError> {
            let part = parts.next().ok_or_else(|| bad("must be <namespace>/<deployment>/<backup>/<file>"))?;
            hex_id(part).ok_or_else(|| bad("ids must be 16 lowercase hex digits"))
        };
        let (namespace, deployment, backup) = (id()?, id()?, id()?);
        let file = parts.next().ok_or_else(|| bad("must be <namespace>/<deployment>/<backup>/<file>"))?;
        if parts.next().is_some() {
            return Err(bad("the file name must not contain '/'"));
        }
        check_file(file)?;
        let prefix = BackupPrefix::new(NamespaceUid(namespace), DeploymentId(deployment), BackupId(backup));
        Ok(ObjectKey { prefix, file: file.to_owned() })
    }

    /// The backup this key belongs to.
    pub fn prefix(&self) -> BackupPrefix {
        self.prefix
    }

    /// The file name within the backup.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Whether this key is an object of `namespace` (one tenant).
    pub fn belongs_to(&self, namespace: NamespaceUid) -> bool {
        self.prefix.namespace == namespace
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.prefix, self.file)
    }
}

impl std::str::FromStr for ObjectKey {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ObjectKey::parse(s)
    }
}

/// Whether the raw `key` is a well-formed object key of `namespace`. A key
/// that does not parse belongs to nobody.
pub fn key_belongs_to(key: &str, namespace: NamespaceUid) -> bool {
    ObjectKey::parse(key).is_ok_and(|k| k.belongs_to(namespace))
}

fn hex_id(part: &str) -> Option<u64> {
    let ok = part.len() == 16 && part.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok { u64::from_str_radix(part, 16).ok() } else { None }
}

fn check_file(file: &str) -> Result<(), ValidationError> {
    let chars_ok = file.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if (1..=MAX_FILE_NAME).contains(&file.len()) && chars_ok && file != "." && file != ".." {
        Ok(())
    } else {
        Err(ValidationError::field(
            "file",
            file,
            "must be 1-128 characters of a-z, A-Z, 0-9, '.', '_', '-', and not '.' or '..'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix() -> BackupPrefix {
        BackupPrefix::new(NamespaceUid(0xa1), DeploymentId(0xb2), BackupId(0xc3))
    }

    #[test]
    fn keys_are_ids_in_hex() {
        let key = prefix().key("db.dump").unwrap();
        assert_eq!(key.to_string(), "00000000000000a1/00000000000000b2/00000000000000c3/db.dump");
        assert_eq!(prefix().deployment_prefix().to_string(), "00000000000000a1/00000000000000b2");
        assert_eq!(ObjectKey::parse(&key.to_string()).unwrap(), key);
        assert_eq!(key.file(), "db.dump");
    }

    #[test]
    fn bad_file_names_are_refused() {
        let long = "a".repeat(MAX_FILE_NAME + 1);
        for bad in ["", ".", "..", "a/b", "a b", "ü", long.as_str()] {
            assert!(prefix().key(bad).is_err(), "{bad:?}");
        }
        assert!(prefix().key(&"a".repeat(MAX_FILE_NAME)).is_ok());
    }

    #[test]
    fn a_key_belongs_only_to_its_namespace() {
        let key = prefix().key("db.dump").unwrap().to_string();
        assert!(key_belongs_to(&key, NamespaceUid(0xa1)));
        assert!(!key_belongs_to(&key, NamespaceUid(0xa2)));
    }

    #[test]
    fn keys_that_only_look_like_a_tenants_are_nobodys() {
        let ns = NamespaceUid(0xa1);
        let own = "00000000000000a1/00000000000000b2/00000000000000c3";
        for bad in [
            format!("{own}/../../00000000000000a2/x"),
            format!("{own}/sub/file"),
            format!("{own}/"),
            format!("{own}/.."),
            "00000000000000A1/00000000000000b2/00000000000000c3/f".to_owned(),
            "a1/b2/c3/f".to_owned(),
            "/00000000000000a1/00000000000000b2/00000000000000c3/f".to_owned(),
            own.to_owned(),
            String::new(),
        ] {
            assert!(!key_belongs_to(&bad, ns), "{bad}");
            assert!(ObjectKey::parse(&bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_key_belongs_to_its_namespace_and_no_other(
            ns in any::<u64>(), other in any::<u64>(), dep in any::<u64>(), backup in any::<u64>(),
            file in "[A-Za-z0-9._-]{1,40}",
        ) {
            prop_assume!(file != "." && file != "..");
            let key = BackupPrefix::new(NamespaceUid(ns), DeploymentId(dep), BackupId(backup)).key(&file).unwrap();
            let text = key.to_string();
            prop_assert_eq!(ObjectKey::parse(&text).unwrap(), key);
            prop_assert!(key_belongs_to(&text, NamespaceUid(ns)));
            prop_assert_eq!(key_belongs_to(&text, NamespaceUid(other)), ns == other);
        }

        #[test]
        fn an_edited_key_belongs_to_a_namespace_only_when_it_is_that_namespaces_key(
            ns in any::<u64>(), dep in any::<u64>(), at in 0usize..60, edit in 0u8..3,
            ch in prop::sample::select(vec!['/', '.', 'A', 'f', '0', '%', ' ']),
        ) {
            let key = BackupPrefix::new(NamespaceUid(ns), DeploymentId(dep), BackupId(7)).key("db.dump").unwrap();
            let mut text: Vec<char> = key.to_string().chars().collect();
            let at = at.min(text.len() - 1);
            match edit {
                0 => text.insert(at, ch),
                1 => { text.remove(at); }
                _ => text[at] = ch,
            }
            let text: String = text.into_iter().collect();
            for candidate in [ns, ns ^ 1, 0] {
                if key_belongs_to(&text, NamespaceUid(candidate)) {
                    let expected = format!("{candidate:016x}/");
                    prop_assert!(text.starts_with(&expected), "{} claimed by {}", text, expected);
                    prop_assert_eq!(text.split('/').count(), 4);
                    prop_assert_eq!(ObjectKey::parse(&text).unwrap().to_string(), text.clone());
                }
            }
        }
    }
}
