//! [`Email`], [`DomainName`] and [`Url`].

use super::{InputKind, ValidationError, is_dns_label, string_newtype};

/// A DNS name such as `acme.example.com`: dot-separated DNS labels, at most
/// 253 characters. Input is lowercased; a trailing dot is dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DomainName(String);

fn domain_reason(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("must not be empty")
    } else if s.len() > 253 {
        Some("must be at most 253 characters")
    } else if !s.split('.').all(is_dns_label) {
        Some("every dot-separated label must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'")
    } else {
        None
    }
}

fn check_domain(s: &str) -> Result<String, ValidationError> {
    let lower = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    match domain_reason(&lower) {
        Some(reason) => Err(ValidationError::new(InputKind::DomainName, s, reason)),
        None => Ok(lower),
    }
}
string_newtype!(DomainName, check_domain);

/// An e-mail address `local@domain`, stored lowercased so that invitations
/// and users match regardless of case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

fn check_email(s: &str) -> Result<String, ValidationError> {
    let err = |reason| Err(ValidationError::new(InputKind::Email, s, reason));
    let lower = s.trim().to_lowercase();
    let Some((local, domain)) = lower.rsplit_once('@') else {
        return err("must contain '@'");
    };
    if local.is_empty() || local.len() > 64 {
        return err("the part before '@' must be 1-64 characters");
    }
    if local.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@') {
        return err("the part before '@' must not contain spaces or '@'");
    }
    if !domain.contains('.') || domain_reason(domain).is_some() {
        return err("the part after '@' must be a domain name with a dot");
    }
    if lower.len() > 254 {
        return err("must be at most 254 characters");
    }
    Ok(lower)
}
string_newtype!(Email, check_email);

/// An absolute URL `scheme://host[:port][/path][?query]`, e.g. an S3 endpoint
/// or a monitor target, at most 2048 bytes. Only the shape is checked;
/// nothing is resolved. A user part (`user@`, `user:secret@`) is refused:
/// credentials belong in a sealed field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Url(String);

/// Splits `scheme://authority/rest`, checking scheme, host and port. Shared
/// with git URLs.
pub(super) fn url_shape(s: &str) -> Result<(&str, &str), &'static str> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err("must look like scheme://host/path");
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    if !scheme_ok {
        return Err("the scheme must be letters, digits, '+', '.' or '-'");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
        _ => (host_port, None),
    };
    if host.is_empty() && scheme != "file" {
        return Err("must name a host");
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err("the port must be a number from 0 to 65535");
    }
    Ok((scheme, rest))
}

fn check_url(s: &str) -> Result<String, ValidationError> {
    if s.len() > 2048 {
        return Err(ValidationError::new(InputKind::Url, s, "must be at most 2048 characters"));
    }
    let (_, rest) = url_shape(s).map_err(|reason| ValidationError::new(InputKind::Url, s, reason))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        let why = "must not carry a user or password; credentials belong in the sealed field";
        return Err(ValidationError::new(InputKind::Url, s, why));
    }
    Ok(s.to_owned())
}
string_newtype!(Url, check_url);

impl Url {
    /// The scheme, e.g. `https`.
    pub fn scheme(&self) -> &str {
        self.0.split_once("://").map_or("", |(scheme, _)| scheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!("Acme.Example.COM.".parse::<DomainName>().unwrap().as_str(), "acme.example.com");
        assert!("localhost".parse::<DomainName>().is_ok());
        for bad in ["", "a..b", "-a.com", "a_b.com", &format!("{}.com", "a".repeat(64))] {
            assert!(bad.parse::<DomainName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!("Ann@Example.COM".parse::<Email>().unwrap().as_str(), "ann@example.com");
        assert!("a.b+tag@mail.example.org".parse::<Email>().is_ok());
        for bad in ["", "ann", "@example.com", "ann@", "ann@localhost", "a b@example.com", "ann@exa mple.com"] {
            let e = bad.parse::<Email>().unwrap_err();
            assert_eq!(e.kind, InputKind::Email, "{bad}");
        }
    }

    #[test]
    fn urls() {
        for ok in
            ["https://s3.example.com", "http://minio:9000/bucket?x=1", "http://[::1]:8080/", "https://host.example/a@b"]
        {
            assert!(ok.parse::<Url>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "https://",
            "https://host:99999",
            "ht tp://x",
            "https://a b",
            "1http://x",
            "https://user@host.example/path",
            "https://user:secret@host.example/",
        ] {
            assert!(bad.parse::<Url>().is_err(), "{bad}");
        }
        assert_eq!("https://x.example".parse::<Url>().unwrap().scheme(), "https");
    }
}
