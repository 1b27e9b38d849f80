//! The private-network guard: a tenant's monitor must not turn the control
//! plane into a proxy into networks it can reach and the tenant cannot.
//!
//! A target is refused when its name is cluster-internal (`localhost`, a
//! single label, `*.local`, `*.internal`, `*.svc`, `*.cluster.local`), or
//! when it resolves to an address that is loopback, link-local, private
//! (RFC 1918, unique local, carrier-grade NAT), unspecified, multicast or
//! broadcast — unless the [`NetworkPolicy`] allows that class. A name is
//! resolved **once** per connection, every address it gives must pass, and
//! the client connects to the first of them: no second lookup that could
//! answer differently.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Which otherwise refused targets the embedding program allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkPolicy {
    /// Loopback addresses and `localhost` (tests; a local agent).
    pub allow_loopback: bool,
    /// Private, link-local and cluster-internal targets.
    pub allow_private: bool,
}

impl NetworkPolicy {
    /// Refuses every private target (the default).
    pub fn strict() -> Self {
        NetworkPolicy::default()
    }

    /// Also allows loopback.
    pub fn allow_loopback(mut self) -> Self {
        self.allow_loopback = true;
        self
    }

    /// Also allows private, link-local and cluster-internal targets.
    pub fn allow_private(mut self) -> Self {
        self.allow_private = true;
        self
    }

    /// Why `ip` is refused, if it is.
    pub fn refuses_ip(&self, ip: IpAddr) -> Option<&'static str> {
        let class = classify(ip)?;
        match class {
            "loopback" if self.allow_loopback => None,
            "loopback" => Some("loopback"),
            _ if self.allow_private => None,
            other => Some(other),
        }
    }

    /// Why the host name `name` is refused before any lookup, if it is.
    pub fn refuses_name(&self, name: &str) -> Option<&'static str> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" || name.ends_with(".localhost") {
            return (!self.allow_loopback).then_some("loopback");
        }
        let internal = !name.contains('.')
            || [".local", ".internal", ".svc", ".cluster.local", ".home.arpa"].iter().any(|s| name.ends_with(s));
        (internal && !self.allow_private).then_some("cluster-internal name")
    }
}

/// The refused class of an address, or `None` for a public one.
fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 one carries to an IPv4 host: mapped
/// (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002:ab:cd::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(low(s[6], s[7]))
    } else if s[0] == 0x2002 {
        Some(low(s[1], s[2]))
    } else {
        None
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("private")
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 {
        Some("not a unicast address")
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("not a unicast address")
    } else {
        None
    }
}

/// Checks a URL's host before a request: names by [`NetworkPolicy::refuses_name`],
/// address literals by [`NetworkPolicy::refuses_ip`].
pub(crate) fn check_host(policy: &NetworkPolicy, host: Option<url_host::Host<'_>>) -> Result<(), String> {
    match host {
        None => Err("the URL has no host".into()),
        Some(url_host::Host::Ip(ip)) => match policy.refuses_ip(ip) {
            Some(why) => Err(format!("target refused: {ip} is {why}")),
            None => Ok(()),
        },
        Some(url_host::Host::Name(name)) => match policy.refuses_name(name) {
            Some(why) => Err(format!("target refused: {name} is a {why}")),
            None => Ok(()),
        },
    }
}

/// A URL's host as the guard sees it.
pub(crate) mod url_host {
    use std::net::IpAddr;

    /// A host: an address literal or a name.
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Host<'a> {
        Ip(IpAddr),
        Name(&'a str),
    }

    /// The host of `url`.
    pub(crate) fn of(url: &reqwest::Url) -> Option<Host<'_>> {
        let host = url.host_str()?;
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        Some(match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(host),
        })
    }
}

/// The resolver reqwest connects through: one lookup, every address
/// checked, the checked addresses returned for the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver(pub(crate) NetworkPolicy);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            if let Some(why) = policy.refuses_name(&host) {
                return Err(format!("target refused: {host} is a {why}").into());
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if let Some((ip, why)) = found.iter().find_map(|a| policy.refuses_ip(a.ip()).map(|w| (a.ip(), w))) {
                return Err(format!("target refused: {host} resolves to {ip}, which is {why}").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_refused_unless_allowed() {
        let strict = NetworkPolicy::strict();
        for refused in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "fe80::1",
            "fd00::1",
            "100.64.0.1",
            "0.0.0.0",
            "::ffff:10.0.0.1",
        ] {
            assert!(strict.refuses_ip(refused.parse().unwrap()).is_some(), "{refused}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1", "172.32.0.1", "100.128.0.1"] {
            assert_eq!(strict.refuses_ip(public.parse().unwrap()), None, "{public}");
        }
        let loopback = NetworkPolicy::strict().allow_loopback();
        assert_eq!(loopback.refuses_ip("127.0.0.1".parse().unwrap()), None);
        assert!(loopback.refuses_ip("10.0.0.1".parse().unwrap()).is_some(), "loopback allows loopback only");
    }

    #[test]
    fn cluster_internal_names_are_refused() {
        let strict = NetworkPolicy::strict();
        for name in
            ["localhost", "db", "postgres.default.svc", "api.ns.svc.cluster.local", "printer.local", "x.internal"]
        {
            assert!(strict.refuses_name(name).is_some(), "{name}");
        }
        assert_eq!(strict.refuses_name("shop.acme.example"), None);
        assert_eq!(NetworkPolicy::strict().allow_loopback().refuses_name("localhost"), None);
    }
}
