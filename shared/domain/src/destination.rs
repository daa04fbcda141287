//! Where webhooks may be sent: URL rules and the address ranges an outbound request must
//! never reach (SSRF guard). The same classification is applied to the URL at registration
//! and to every resolved address at send time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::error::ValidationError;

/// What the deployment allows for destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Allow `http://` (otherwise https only).
    pub allow_http: bool,
    /// Allow private, loopback, link-local and other non-public addresses.
    pub allow_private: bool,
}

/// Validates a subscription URL against the policy (literal IPs and well-known local names
/// are checked here; hostnames are checked again on their resolved addresses at send time).
pub fn validate_url(raw: &str, policy: &DestinationPolicy) -> Result<Url, ValidationError> {
    let bad = |m: &str| ValidationError::with_code("invalid_destination", "url", m);
    if raw.len() > 2048 {
        return Err(bad("at most 2048 characters"));
    }
    let url = Url::parse(raw).map_err(|_| bad("must be an absolute http(s) URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(bad("must use https")),
        _ => return Err(bad("must be an absolute http(s) URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials in the URL are not allowed; use headers"));
    }
    if url.fragment().is_some() {
        return Err(bad("a URL fragment is not allowed"));
    }
    let host = url.host().ok_or_else(|| bad("must have a host"))?;
    if !policy.allow_private {
        let forbidden = match host {
            Host::Ipv4(ip) => is_forbidden(IpAddr::V4(ip)),
            Host::Ipv6(ip) => is_forbidden(IpAddr::V6(ip)),
            Host::Domain(d) => is_local_name(d),
        };
        if forbidden {
            return Err(bad(
                "private, loopback, link-local and metadata destinations are not allowed",
            ));
        }
    }
    Ok(url)
}

/// Host names that always mean this machine or its private network.
pub fn is_local_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.ends_with(".local")
        || h.ends_with(".internal")
        || h == "metadata"
        || h == "instance-data"
}

/// Whether an outbound request must not reach `ip`: anything but a global unicast address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // includes 169.254.169.254 (instance metadata)
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240 // reserved
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    // NAT64 (64:ff9b::/96) embeds an IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_forbidden_v4(v4);
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32
        || s[0] == 0x2002 // 6to4 may tunnel to any IPv4 address
        || s[0..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::/96 and friends
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard 100::/64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> bool {
        is_forbidden(s.parse().expect("ip"))
    }

    #[test]
    fn non_public_ranges_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002::1",
        ] {
            assert!(f(ip), "{ip} should be forbidden");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!f(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn registration_refuses_local_urls_unless_allowed() {
        let strict = DestinationPolicy {
            allow_http: false,
            allow_private: false,
        };
        let open = DestinationPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(validate_url("https://portal.example.org/hook", &strict).is_ok());
        assert!(validate_url("http://portal.example.org/hook", &strict).is_err());
        assert!(validate_url("https://127.0.0.1/hook", &strict).is_err());
        assert!(validate_url("https://[::ffff:10.0.0.1]/hook", &strict).is_err());
        assert!(validate_url("https://localhost/hook", &strict).is_err());
        assert!(validate_url("https://user:pw@portal.example.org/", &strict).is_err());
        assert!(validate_url("ftp://portal.example.org/", &strict).is_err());
        assert!(validate_url("/relative", &strict).is_err());
        assert!(validate_url("http://127.0.0.1:9/hook", &open).is_ok());
    }
}
