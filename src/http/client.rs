//! Who is calling: the client's address, taken from `X-Forwarded-For` only
//! when the TCP peer is a proxy the operator trusts (`ALERTS_TRUSTED_PROXIES`).
//! Without that setting the peer address is the client, and a forwarded
//! header is ignored, so a client cannot pick its own address.
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// Forwarded hops read at most, from the right: a header of any length is
/// walked in bounded time.
const MAX_HOPS: usize = 16;

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (address, prefix) = raw.split_once('/').map_or((raw, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = address.parse().map_err(|_| format!("{raw:?} is not an IP address or CIDR"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{raw:?}: bad prefix length"))?
            }
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), 32, self.prefix) == masked(u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix) == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { bits >> (width - prefix) }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, a dual-stack socket) is the IPv4 one.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies allowed to say who the client is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated CIDRs; empty: trust no proxy.
    fn from_str(raw: &str) -> Result<Self, String> {
        raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Cidr::from_str).collect::<Result<_, _>>().map(Self)
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client behind `peer`: the peer itself unless it is trusted; then
    /// the right-most `X-Forwarded-For` hop that is not a trusted proxy (each
    /// proxy appends the address it was called from, so only hops right of
    /// the first untrusted one are believable). A malformed hop ends the walk
    /// at the last address known to be real.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.rsplit(','))
            .take(MAX_HOPS);
        for hop in hops {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The client's IP address (see the module comment), or `unknown` when the
/// server was not started with connection info (tests that build the router directly).
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>() else {
            return Ok(Self("unknown".to_owned()));
        };
        let client = match parts.extensions.get::<Arc<TrustedProxies>>() {
            Some(proxies) => proxies.client(peer.ip(), &parts.headers),
            None => canonical(peer.ip()),
        };
        Ok(Self(client.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap_or_else(|_| axum::http::HeaderValue::from_static("")));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn cidrs_parse_and_match() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap_or(Cidr { network: ip("0.0.0.0"), prefix: 32 });
        assert!(net.contains(ip("10.1.2.3")) && !net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.9")), "an IPv4-mapped peer is the IPv4 address");
        let all: Cidr = "::/0".parse().unwrap_or(net);
        assert!(all.contains(ip("2001:db8::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy.internal".parse::<Cidr>().is_err());
        assert!("".parse::<TrustedProxies>().is_ok_and(|p| p == TrustedProxies::default()));
    }

    #[test]
    fn the_forwarded_client_is_believed_only_from_a_trusted_peer() {
        let proxies: TrustedProxies = "10.0.0.0/8, 192.168.0.1".parse().unwrap_or_default();
        let xff = headers(&["198.51.100.7, 10.0.0.5"]);
        assert_eq!(proxies.client(ip("10.0.0.2"), &xff), ip("198.51.100.7"));
        assert_eq!(proxies.client(ip("203.0.113.9"), &xff), ip("203.0.113.9"), "untrusted peer: header ignored");
        // A client cannot hide behind a hop it wrote itself: the right-most untrusted one counts.
        let spoofed = headers(&["1.2.3.4", "198.51.100.7"]);
        assert_eq!(proxies.client(ip("10.0.0.2"), &spoofed), ip("198.51.100.7"));
        // Only trusted hops: the left-most.
        assert_eq!(proxies.client(ip("10.0.0.2"), &headers(&["10.0.0.9, 10.0.0.5"])), ip("10.0.0.9"));
        // A malformed hop ends the walk at the last real address.
        assert_eq!(proxies.client(ip("10.0.0.2"), &headers(&["garbage"])), ip("10.0.0.2"));
        let long = vec!["10.0.0.1"; 10_000].join(",");
        assert_eq!(proxies.client(ip("10.0.0.2"), &headers(&[&long])), ip("10.0.0.1"));
    }
}
