//! Git and container-image references: [`GitUrl`], [`GitRef`], [`ImageRef`],
//! [`ImageTag`] and [`Digest`].

use super::net::url_shape;
use super::{InputKind, ValidationError, string_newtype};

/// A git remote: `https://`, `http://`, `ssh://`, `git://` or `file://` URL,
/// or the scp-like `user@host:path` form; at most 2048 bytes.
///
/// Refused, because git hands these parts to ssh or to a shell: a user,
/// host or path that begins with `-` (option injection such as
/// `ssh://-oProxyCommand=…`). Refused, because credentials belong in a
/// sealed field: a password in the user part (`user:secret@`), and any user
/// part at all on `http(s)://` (where it is a token).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GitUrl(String);

fn check_git_url(s: &str) -> Result<String, ValidationError> {
    let err = |reason: &str| ValidationError::new(InputKind::GitUrl, s, reason);
    if s.len() > 2048 {
        return Err(err("must be at most 2048 bytes"));
    }
    let dash = "no user, host or path may begin with '-'";
    if s.contains("://") {
        let (scheme, rest) = url_shape(s).map_err(err)?;
        if !matches!(scheme, "https" | "http" | "ssh" | "git" | "file") {
            return Err(err("the scheme must be https, http, ssh, git or file"));
        }
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        let (user, host) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
        if let Some(user) = user {
            if matches!(scheme, "https" | "http") {
                return Err(err("must not carry a user or token; credentials belong in the sealed field"));
            }
            if user.contains(':') {
                return Err(err("must not carry a password; credentials belong in the sealed field"));
            }
            if user.starts_with('-') {
                return Err(err(dash));
            }
        }
        if host.starts_with('-') || path.trim_start_matches('/').starts_with('-') {
            return Err(err(dash));
        }
        return Ok(s.to_owned());
    }
    // scp-like: user@host:path
    let Some((user_host, path)) = s.split_once(':') else {
        return Err(err("must be a URL or the form user@host:path"));
    };
    let Some((user, host)) = user_host.split_once('@').filter(|(u, h)| !u.is_empty() && !h.is_empty()) else {
        return Err(err("must be a URL or the form user@host:path"));
    };
    if path.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err("must be a URL or the form user@host:path"));
    }
    if user.starts_with('-') || host.starts_with('-') || path.trim_start_matches('/').starts_with('-') {
        return Err(err(dash));
    }
    Ok(s.to_owned())
}
string_newtype!(GitUrl, check_git_url);

/// A git reference: a branch or tag name, or a commit id. Follows the rules of
/// `git check-ref-format` (no spaces, no `..`, none of `~^:?*[\`, no `@{`, no
/// empty path component, no trailing `.lock` or `.`), at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GitRef(String);

fn check_git_ref(s: &str) -> Result<String, ValidationError> {
    let reason = if s.is_empty() {
        "must not be empty"
    } else if s.len() > 255 {
        "must be at most 255 characters"
    } else if s.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c)) {
        "must not contain spaces, control characters or any of ~^:?*[\\"
    } else if s.contains("..") || s.contains("@{") || s == "@" {
        "must not contain '..' or '@{' and must not be '@'"
    } else if s.starts_with('/') || s.ends_with('/') || s.contains("//") {
        "must not have an empty path component"
    } else if s.ends_with('.') || s.ends_with(".lock") || s.split('/').any(|c| c.starts_with('.')) {
        "no component may start with '.', and it must not end with '.' or '.lock'"
    } else {
        return Ok(s.to_owned());
    };
    Err(ValidationError::new(InputKind::GitRef, s, reason))
}
string_newtype!(GitRef, check_git_ref);

/// An image tag: 1–128 characters of `A-Za-z0-9_.-`, not starting with `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageTag(String);

fn tag_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with(['.', '-'])
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn check_tag(s: &str) -> Result<String, ValidationError> {
    if tag_ok(s) {
        Ok(s.to_owned())
    } else {
        Err(ValidationError::new(
            InputKind::ImageTag,
            s,
            "must be 1-128 characters of A-Za-z0-9_.- not starting with '.' or '-'",
        ))
    }
}
string_newtype!(ImageTag, check_tag);

/// A content digest `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

fn digest_ok(s: &str) -> bool {
    let hex = |h: &str, n: usize| h.len() == n && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match s.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}

fn check_digest(s: &str) -> Result<String, ValidationError> {
    if digest_ok(s) {
        Ok(s.to_owned())
    } else {
        Err(ValidationError::new(
            InputKind::Digest,
            s,
            "must be sha256:<64 lowercase hex> or sha512:<128 lowercase hex>",
        ))
    }
}
string_newtype!(Digest, check_digest);

/// A full container image reference `[registry[:port]/]path[:tag][@digest]`,
/// e.g. `ghcr.io/acme/odoo:17.0@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef(String);

fn image_reason(s: &str) -> Option<&'static str> {
    if s.is_empty() || s.len() > 512 {
        return Some("must be 1-512 characters");
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if digest.is_some_and(|d| !digest_ok(d)) {
        return Some("the digest after '@' must be sha256:<64 hex> or sha512:<128 hex>");
    }
    // A ':' after the last '/' starts the tag; one before it is a registry port.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if tag.is_some_and(|t| !tag_ok(t)) {
        return Some("the tag must be 1-128 characters of A-Za-z0-9_.- not starting with '.' or '-'");
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    let has_registry = parts.len() > 1 && (first.contains(['.', ':']) || first == "localhost");
    if has_registry {
        let host = first.split(':').next().unwrap_or_default();
        let port_ok = first.split_once(':').is_none_or(|(_, p)| p.parse::<u16>().is_ok());
        if host.is_empty() || !port_ok || !host.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c)) {
            return Some("the registry must be a host name with an optional port");
        }
        parts.remove(0);
    }
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
    };
    if parts.is_empty() || !parts.iter().all(|c| component_ok(c)) {
        return Some("path components must be lowercase a-z, 0-9 and '._-', starting and ending alphanumeric");
    }
    None
}

fn check_image(s: &str) -> Result<String, ValidationError> {
    match image_reason(s) {
        Some(reason) => Err(ValidationError::new(InputKind::ImageRef, s, reason)),
        None => Ok(s.to_owned()),
    }
}
string_newtype!(ImageRef, check_image);

impl ImageRef {
    /// The reference with `tag` and `digest` applied: the name part of this
    /// reference, then `:tag` and `@digest` when given.
    pub fn with(&self, tag: Option<&ImageTag>, digest: Option<&Digest>) -> ImageRef {
        let mut out = self.name().to_owned();
        if let Some(tag) = tag {
            out.push(':');
            out.push_str(tag.as_str());
        }
        if let Some(digest) = digest {
            out.push('@');
            out.push_str(digest.as_str());
        }
        ImageRef(out)
    }

    /// The repository part, without tag or digest.
    pub fn name(&self) -> &str {
        let rest = self.0.split('@').next().unwrap_or_default();
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        match rest[last_slash..].rfind(':') {
            Some(i) => &rest[..last_slash + i],
            None => rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn git_urls() {
        for ok in ["https://github.com/acme/addons.git", "git@github.com:acme/addons.git", "ssh://git@host:22/x"] {
            assert!(ok.parse::<GitUrl>().is_ok(), "{ok}");
        }
        for bad in ["", "github.com/acme", "ftp://host/x", "git@:x", "git@host:", "a b@host:x"] {
            assert!(bad.parse::<GitUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn git_urls_refuse_option_injection_and_credentials() {
        for bad in [
            "ssh://-oProxyCommand=touch%20x/repo",
            "ssh://-oProxyCommand=x@host/repo",
            "ssh://git@-host/repo",
            "ssh://git@host/-upload-pack=x",
            "-oProxyCommand=x@host:repo",
            "git@-oProxyCommand=x:repo",
            "git@host:-upload-pack=x",
            "git@host:/-x",
            "https://user:secret@git.example/acme.git",
            "https://ghp_token@git.example/acme.git",
            "ssh://git:secret@host/repo",
        ] {
            let e = bad.parse::<GitUrl>().unwrap_err();
            assert!(e.to_string().contains("'-'") || e.to_string().contains("credentials"), "{bad}: {e}");
        }
        assert!(format!("https://git.example/{}", "a".repeat(2100)).parse::<GitUrl>().is_err(), "bounded");
        for ok in ["ssh://git@host/a-b/repo", "git@host:acme/x-y.git", "https://git.example/acme/-x.git"] {
            // A dash inside the path is fine; only one at its start is refused.
            assert!(ok.parse::<GitUrl>().is_ok(), "{ok}");
        }
    }

    #[test]
    fn git_refs() {
        for ok in ["main", "17.0", "feature/x-1", "v1.2.3", "0a1b2c3"] {
            assert!(ok.parse::<GitRef>().is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a..b", "a~1", "x:y", "/a", "a/", "a//b", "a.lock", "a.", "@", "a@{1}", ".hidden"] {
            assert!(bad.parse::<GitRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn image_refs() {
        let with_digest = format!("ghcr.io/acme/odoo:17.0@{SHA}");
        for ok in [
            "odoo",
            "odoo:17.0",
            "library/odoo",
            "localhost:5000/odoo:1",
            "registry.example.com:443/a/b-c_d.e:latest",
            &with_digest,
        ] {
            assert!(ok.parse::<ImageRef>().is_ok(), "{ok}");
        }
        for bad in ["", "Odoo", "odoo:", "odoo:-x", "odoo@sha256:123", "/odoo", "odoo/", "reg:99999/odoo", "a//b"] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad}");
        }
        let r: ImageRef = with_digest.parse().unwrap();
        assert_eq!(r.name(), "ghcr.io/acme/odoo");
        let port: ImageRef = "localhost:5000/odoo:1".parse().unwrap();
        assert_eq!(port.name(), "localhost:5000/odoo");
        let tag: ImageTag = "18.0".parse().unwrap();
        let digest: Digest = SHA.parse().unwrap();
        assert_eq!(port.with(Some(&tag), Some(&digest)).as_str(), format!("localhost:5000/odoo:18.0@{SHA}"));
        assert!(port.with(Some(&tag), Some(&digest)).as_str().parse::<ImageRef>().is_ok());
    }

    #[test]
    fn digests_and_tags() {
        assert!(SHA.parse::<Digest>().is_ok());
        assert!(SHA.to_uppercase().parse::<Digest>().is_err());
        assert!("md5:abc".parse::<Digest>().is_err());
        assert!("latest".parse::<ImageTag>().is_ok());
        assert!(".x".parse::<ImageTag>().is_err());
    }
}
