//! Validated newtypes for everything a user types: slugs, names, e-mail
//! addresses, domains, URLs, git and image references, resource quantities and
//! cron expressions.
//!
//! Each type can only hold a valid value: construction goes through
//! [`std::str::FromStr`] / [`TryFrom<String>`], which return a
//! [`ValidationError`] naming the kind of input and the reason. Deserializing
//! goes through the same check, so a record read back from disk is re-validated.

mod cron;
mod net;
mod quantity;
mod refs;
mod slug;

pub use cron::{CronExpr, MAX_CRON_BYTES};
pub use net::{DomainName, Email, Url};
pub use quantity::Quantity;
pub use refs::{Digest, GitRef, GitUrl, ImageRef, ImageTag};
pub(crate) use slug::fnv1a;
pub use slug::{Name, Slug};

use std::fmt;

/// Which kind of input failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputKind {
    /// A [`Slug`].
    Slug,
    /// A [`Name`].
    Name,
    /// An [`Email`].
    Email,
    /// A [`DomainName`].
    DomainName,
    /// A [`Url`].
    Url,
    /// A [`GitUrl`].
    GitUrl,
    /// A [`GitRef`].
    GitRef,
    /// An [`ImageRef`].
    ImageRef,
    /// An [`ImageTag`].
    ImageTag,
    /// A [`Digest`].
    Digest,
    /// A [`Quantity`].
    Quantity,
    /// A [`CronExpr`].
    Cron,
    /// Any other named field of a request, e.g. `"replicas"`.
    Field(&'static str),
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            InputKind::Slug => "slug",
            InputKind::Name => "name",
            InputKind::Email => "e-mail address",
            InputKind::DomainName => "domain name",
            InputKind::Url => "URL",
            InputKind::GitUrl => "git URL",
            InputKind::GitRef => "git reference",
            InputKind::ImageRef => "image reference",
            InputKind::ImageTag => "image tag",
            InputKind::Digest => "image digest",
            InputKind::Quantity => "resource quantity",
            InputKind::Cron => "cron expression",
            InputKind::Field(name) => name,
        };
        f.write_str(name)
    }
}

/// A value that failed validation: what it was meant to be, the offending
/// value (shortened), and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {reason}")]
pub struct ValidationError {
    /// What the value was meant to be.
    pub kind: InputKind,
    /// The refused value, cut to 80 characters.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl ValidationError {
    /// A new error for `value` of `kind`.
    pub fn new(kind: InputKind, value: &str, reason: impl Into<String>) -> Self {
        const MAX: usize = 80;
        let value = match value.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", &value[..cut]),
            None => value.to_owned(),
        };
        ValidationError { kind, value, reason: reason.into() }
    }

    /// An error about a named request field that is not one of the newtypes.
    pub fn field(name: &'static str, value: impl fmt::Display, reason: impl Into<String>) -> Self {
        Self::new(InputKind::Field(name), &value.to_string(), reason)
    }
}

/// Implements the string plumbing shared by every validated newtype:
/// `FromStr`, `TryFrom<String>`, `Display`, `AsRef<str>`, `as_str` and serde
/// through the validating constructor.
macro_rules! string_newtype {
    ($ty:ident, $check:path) => {
        impl $ty {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::validate::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $check(s).map($ty)
            }
        }
        impl TryFrom<String> for $ty {
            type Error = $crate::validate::ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
        impl TryFrom<&str> for $ty {
            type Error = $crate::validate::ValidationError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_newtype;

/// Whether `s` is a DNS label: 1–63 characters of `a-z`, `0-9` and `-`, not
/// starting or ending with `-`.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shortens_long_values() {
        let long = "x".repeat(500);
        let e = ValidationError::new(InputKind::Name, &long, "too long");
        assert_eq!(e.value.chars().count(), 81);
        assert!(e.to_string().starts_with("invalid name"));
    }

    #[test]
    fn dns_label_rule() {
        for ok in ["a", "a-b", "0", "abc123", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64), "é"] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }
}
