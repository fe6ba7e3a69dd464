//! Who the client is: the TCP peer, or, when the peer is a proxy this server trusts
//! (`TRUSTED_PROXIES`, for example the load balancer's VPC), the address that proxy reports in
//! `X-Forwarded-For`. Login throttling counts per client address, so behind a load balancer
//! every user must not share the balancer's address, and nobody may pick their own address by
//! sending the header straight to the server.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address block such as `10.0.0.0/16`, `127.0.0.1` (one address) or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address as IPv4 even when it arrives mapped into IPv6 (`::ffff:10.0.0.1`).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (address, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| {
            format!("{s:?} is not an address or address block such as 10.0.0.0/16")
        })?);
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {most}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, comma-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Cidr::from_str)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blocks: Vec<_> = self.0.iter().map(Cidr::to_string).collect();
        f.write_str(&blocks.join(","))
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(ip))
    }

    /// The client's address: the peer's, unless the peer is trusted; then the nearest address
    /// in `X-Forwarded-For` (read from the right, as each proxy appends the one it saw) that is
    /// not itself a trusted proxy. Entries a client wrote itself sit to the left of the first
    /// untrusted one and are never reached; an unreadable entry ends the walk there.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for entry in forwarded.iter().rev() {
            let Ok(ip) = entry.parse::<IpAddr>() else {
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn blocks_are_parsed_and_matched() {
        let vpc: Cidr = "10.0.0.0/16".parse().unwrap();
        assert!(vpc.contains(ip("10.0.12.7")));
        assert!(!vpc.contains(ip("10.1.0.1")));
        assert!(vpc.contains(ip("::ffff:10.0.0.9")), "IPv4 mapped into IPv6");
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "proxy",
            "10.0.0.0/x",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let list: TrustedProxies = " 10.0.0.0/16, 127.0.0.1 ,".parse().unwrap();
        assert_eq!(list.to_string(), "10.0.0.0/16,127.0.0.1/32");
        assert_eq!(
            "".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::default()
        );
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let trusted: TrustedProxies = "10.0.0.0/16".parse().unwrap();
        let headers = forwarded(&["198.51.100.7"]);
        assert_eq!(
            trusted.client(ip("10.0.3.4"), &headers),
            ip("198.51.100.7"),
            "the load balancer says who it saw"
        );
        assert_eq!(
            trusted.client(ip("203.0.113.5"), &headers),
            ip("203.0.113.5"),
            "a client talking to the server directly cannot choose its address"
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.3.4"), &headers),
            ip("10.0.3.4"),
            "nothing trusted: the peer"
        );
    }

    #[test]
    fn a_forged_entry_to_the_left_is_never_reached() {
        let trusted: TrustedProxies = "10.0.0.0/16".parse().unwrap();
        // The client sent "1.2.3.4" itself; the balancer appended the address it saw.
        let headers = forwarded(&["1.2.3.4, 198.51.100.7"]);
        assert_eq!(trusted.client(ip("10.0.3.4"), &headers), ip("198.51.100.7"));
        // Two trusted hops, and a header split over two lines.
        let headers = forwarded(&["1.2.3.4, 198.51.100.7", "10.0.9.9"]);
        assert_eq!(trusted.client(ip("10.0.3.4"), &headers), ip("198.51.100.7"));
        // Garbage (a balancer never writes it) stops the walk: the peer counts.
        let headers = forwarded(&["198.51.100.7, not-an-address"]);
        assert_eq!(trusted.client(ip("10.0.3.4"), &headers), ip("10.0.3.4"));
        // No header: the peer.
        assert_eq!(
            trusted.client(ip("10.0.3.4"), &HeaderMap::new()),
            ip("10.0.3.4")
        );
    }
}
