//! Object names: deterministic, within Kubernetes limits, unique per deployment.
//!
//! Every object of a deployment is named from one *base name*:
//! `<group slug>-<deployment slug>`, cut to fit (each slug keeps part of the
//! room, so both stay recognisable), followed by `-` and the deployment id
//! in base 36. The id tag is what makes names unique: it is the
//! last `-`-separated segment and contains no `-`, so two deployments with
//! different ids can never share a base name, however their slugs are cut
//! or however their slugs look (`a-b`/`c` and `a`/`b-c` end in different tags).
//! A hash of the slugs would only make a collision unlikely; the id makes it
//! impossible, so no hash is needed.
//!
//! The base name also starts with a letter (a `d` is put in front of slugs
//! that start with a digit), so it is a valid RFC 1035 label as Service names
//! require. Its length budget depends on what the group type's operator
//! derives from it:
//!
//! | group type | budget | why |
//! | --- | --- | --- |
//! | `odoo`, `none` | 53 | the longest object is `<base>-filestore`, a 63-character label |
//! | `pgo` | 40 | PGO names StatefulSets `<cluster>-<instance set>-<4>` and adds a 10-character revision hash to them in a 63-character label |
//! | `pxc` | 22 | the Percona operator refuses cluster names longer than 22 characters |

use eyrie_core::{DeploymentId, GroupType, Slug};

/// The longest DNS label (and label value) Kubernetes accepts.
pub const DNS_LABEL_MAX: usize = 63;

/// The longest DNS subdomain (object name) Kubernetes accepts.
pub const DNS_SUBDOMAIN_MAX: usize = 253;

/// The length budget of a base name for `group_type` (see the module docs).
pub fn budget(group_type: GroupType) -> usize {
    match group_type {
        GroupType::Odoo | GroupType::None => 53,
        GroupType::Pgo => 40,
        GroupType::Pxc => 22,
    }
}

/// The deployment id in base 36 (`0-9a-z`): at most 13 characters.
pub fn id_tag(id: DeploymentId) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = id.0;
    let mut out = Vec::with_capacity(13);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    out.into_iter().map(char::from).collect()
}

/// The base name of a deployment's objects, at most `max` characters
/// (`max` is clamped to at least 15 so that a letter, a dash and the longest
/// id tag always fit).
pub fn base_name(group: &Slug, deployment: &Slug, id: DeploymentId, max: usize) -> String {
    let tag = id_tag(id);
    let max = max.max(15);
    // Slugs are ASCII, so byte lengths are character counts.
    let prefix = if group.as_str().starts_with(|c: char| c.is_ascii_digit()) { "d" } else { "" };
    let room = max - 1 - tag.len() - prefix.len();
    let human = fit(group.as_str(), deployment.as_str(), room);
    if human.is_empty() { format!("d-{tag}") } else { format!("{prefix}{human}-{tag}") }
}

/// `group-deployment` in at most `room` characters: when it does not fit,
/// the group keeps about half the room (less if the deployment needs less)
/// and the deployment the rest, so both stay recognisable. Cuts never leave
/// a dash at the end of a part.
fn fit(group: &str, deployment: &str, room: usize) -> String {
    if group.len() + 1 + deployment.len() <= room {
        return format!("{group}-{deployment}");
    }
    let group_keep = group.len().min(room.saturating_sub(1 + deployment.len()).max(room / 2));
    let deployment_keep = deployment.len().min(room.saturating_sub(group_keep + 1));
    let parts = [&group[..group_keep], &deployment[..deployment_keep]];
    let parts: Vec<&str> = parts.iter().map(|p| p.trim_end_matches('-')).filter(|p| !p.is_empty()).collect();
    parts.join("-")
}

/// Whether `s` is an RFC 1035 label (`[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63).
pub fn is_rfc1035_label(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase()) && eyrie_core::validate::is_dns_label(s)
}

/// 64-bit FNV-1a: a small, stable hash (used for configuration checksums).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> Slug {
        s.parse().unwrap()
    }

    #[test]
    fn tags_are_base36() {
        assert_eq!(id_tag(DeploymentId(0)), "0");
        assert_eq!(id_tag(DeploymentId(35)), "z");
        assert_eq!(id_tag(DeploymentId(36)), "10");
        assert_eq!(id_tag(DeploymentId(u64::MAX)), "3w5e11264sgsf");
    }

    #[test]
    fn short_names_keep_both_slugs() {
        assert_eq!(base_name(&slug("erp"), &slug("shop"), DeploymentId(30), 53), "erp-shop-u");
        assert_eq!(base_name(&slug("9lives"), &slug("shop"), DeploymentId(1), 53), "d9lives-shop-1");
    }

    #[test]
    fn longest_slugs_fit_every_budget() {
        let long = slug(&"a".repeat(63));
        for group_type in GroupType::ALL {
            let max = budget(group_type);
            for id in [0, 1, 30, u64::MAX] {
                let name = base_name(&long, &long, DeploymentId(id), max);
                assert!(name.len() <= max, "{name} longer than {max}");
                assert!(is_rfc1035_label(&name), "{name}");
                assert!(name.ends_with(&format!("-{}", id_tag(DeploymentId(id)))), "{name}");
            }
        }
    }

    #[test]
    fn long_names_keep_part_of_both_slugs() {
        let group = slug(&"g".repeat(8));
        let name = base_name(&group, &slug("shop"), DeploymentId(u64::MAX), 22);
        assert_eq!(name, "gggg-sho-3w5e11264sgsf");
        let long = slug(&"x".repeat(63));
        assert_eq!(base_name(&long, &slug("shop"), DeploymentId(30), 22), "xxxxxxxxxxxxxxx-shop-u");
        assert_eq!(base_name(&slug("erp"), &long, DeploymentId(30), 22), "erp-xxxxxxxxxxxxxxxx-u");
    }

    #[test]
    fn cuts_never_leave_double_or_trailing_dashes() {
        let shapes =
            ["a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z", "ab-cd-ef-gh-ij-kl-mn-op-qr-st", "a", "1-2-3"];
        for group in shapes {
            for deployment in shapes {
                for max in 15..=63 {
                    let name = base_name(&slug(group), &slug(deployment), DeploymentId(123_456), max);
                    assert!(name.len() <= max, "{name}");
                    assert!(is_rfc1035_label(&name) && !name.contains("--"), "{name}");
                }
            }
        }
    }

    #[test]
    fn ambiguous_slug_pairs_get_different_names() {
        let a = base_name(&slug("a-b"), &slug("c"), DeploymentId(1), 53);
        let b = base_name(&slug("a"), &slug("b-c"), DeploymentId(2), 53);
        assert_ne!(a, b);
    }

    #[test]
    fn different_ids_never_collide_even_when_cut() {
        let long = slug(&"x".repeat(63));
        let mut seen = std::collections::BTreeSet::new();
        for id in (0..2000).chain([u64::MAX - 1, u64::MAX]) {
            assert!(seen.insert(base_name(&long, &long, DeploymentId(id), 22)), "{id}");
        }
    }

    #[test]
    fn deterministic() {
        let a = base_name(&slug("erp"), &slug("shop"), DeploymentId(7), 40);
        assert_eq!(a, base_name(&slug("erp"), &slug("shop"), DeploymentId(7), 40));
        assert_eq!(fnv1a(b"odoo"), fnv1a(b"odoo"));
        assert_ne!(fnv1a(b"odoo"), fnv1a(b"odoO"));
    }
}
