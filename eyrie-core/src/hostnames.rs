//! Hostname claims (SPEC §9): a project's `domain` and a scope's
//! `root_subdomain` claim a DNS subtree for one project. Pure rules; the
//! service enforces them atomically in the store.
//!
//! - A claim is a [`DomainName`] of at least two labels: nobody claims a
//!   top-level domain, so two overlapping claims always share their last two
//!   labels, their *shard*. Every claim change in a shard updates one guard
//!   record of that shard, which serializes racing claims.
//! - A claim equal to, below or above another project's claim is refused;
//!   one project's own claims may nest (a scope under the project domain).
//! - Claims of different projects are disjoint subtrees, and every
//!   deployment's effective hostname lies under a claim of its project, so
//!   two projects' hostnames never meet; within a project the store keeps
//!   effective hostnames unique.

use crate::error::{Error, Result};
use crate::validate::{DomainName, ValidationError};

/// Whether `a` and `b` are equal or one lies below the other.
pub fn overlap(a: &str, b: &str) -> bool {
    a == b || is_below(a, b) || is_below(b, a)
}

/// Whether `name` lies strictly below `ancestor` (`x.acme.example` below `acme.example`).
pub fn is_below(name: &str, ancestor: &str) -> bool {
    name.len() > ancestor.len() + 1
        && name.ends_with(ancestor)
        && name.as_bytes()[name.len() - ancestor.len() - 1] == b'.'
}

/// The claimable ancestors of `name`, nearest first, down to its shard
/// (`a.b.acme.example` → `b.acme.example`, `acme.example`).
pub fn ancestors(name: &str) -> Vec<&str> {
    let labels = name.split('.').count();
    let mut out = Vec::new();
    let mut rest = name;
    for _ in 0..labels.saturating_sub(2) {
        match rest.split_once('.') {
            Some((_, parent)) => {
                out.push(parent);
                rest = parent;
            }
            None => break,
        }
    }
    out
}

/// The shard of a claim: its last two labels. Refuses a claim of one label.
pub fn shard(claim: &DomainName) -> Result<&str> {
    let name = claim.as_str();
    let mut dots = name.rmatch_indices('.');
    match (dots.next(), dots.next()) {
        (Some(_), Some((second, _))) => Ok(&name[second + 1..]),
        (Some(_), None) => Ok(name),
        _ => Err(Error::Invalid(ValidationError::field(
            "domain",
            name,
            "a claimed domain needs at least two labels (nobody claims a top-level domain)",
        ))),
    }
}

/// A stable 64-bit key for a DNS name (FNV-1a): the parent of the index
/// entries and the id of the shard guard. Collisions only make two names
/// share a list or a guard; readers compare the names themselves.
pub fn name_key(name: &str) -> u64 {
    crate::storage::stable_hash(name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> DomainName {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn overlap_is_equal_below_or_above() {
        assert!(overlap("acme.example", "acme.example"));
        assert!(overlap("shop.acme.example", "acme.example"));
        assert!(overlap("acme.example", "shop.acme.example"));
        assert!(!overlap("acme.example", "xacme.example"), "a label boundary, not a suffix");
        assert!(!overlap("shop.acme.example", "stage.acme.example"), "siblings do not overlap");
        assert!(!overlap("acme.example", "zulu.example"));
    }

    #[test]
    fn ancestors_stop_at_the_shard() {
        assert_eq!(ancestors("a.b.acme.example"), ["b.acme.example", "acme.example"]);
        assert_eq!(ancestors("acme.example"), Vec::<&str>::new());
    }

    #[test]
    fn shards_are_the_last_two_labels_and_a_single_label_is_refused() {
        assert_eq!(shard(&d("a.b.acme.example")).unwrap(), "acme.example");
        assert_eq!(shard(&d("acme.example")).unwrap(), "acme.example");
        assert_eq!(shard(&d("example")).unwrap_err().kind(), crate::ErrorKind::Invalid);
    }

    #[test]
    fn overlapping_claims_share_a_shard() {
        for (a, b) in [("x.y.acme.example", "acme.example"), ("y.acme.example", "x.y.acme.example")] {
            assert!(overlap(a, b));
            assert_eq!(shard(&d(a)).unwrap(), shard(&d(b)).unwrap());
        }
    }
}
