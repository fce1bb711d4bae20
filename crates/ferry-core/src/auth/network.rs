//! Address ranges an account may log in from (`allowed_networks =
//! ["10.0.0.0/8", "2001:db8::/32"]`).
//!
//! A range is an address and a prefix length, written in CIDR notation; a
//! bare address means just that address (`/32`, `/128`). Parsed by hand on
//! the standard library's address parser: the core's default build takes
//! no network crate for twenty lines.
//!
//! Host bits must be zero: `10.0.0.1/8` is refused rather than read as
//! `10.0.0.0/8`, because the writer may have meant either that range or
//! the single address, and guessing wrong would open an account to
//! sixteen million addresses. Every range has one canonical text (the
//! standard library's address text, always with the prefix), which is
//! what the admin API stores and shows.
//!
//! IPv4 clients reaching a dual-stack listener appear as IPv4-mapped IPv6
//! addresses (`::ffff:10.0.0.1`); they are compared as the IPv4 address
//! they are, and a mapped range (`::ffff:10.0.0.0/104`) is stored as the
//! IPv4 range it means.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A range of addresses: every address whose first `prefix` bits are
/// those of `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

/// What a range looks like, for error messages.
pub const NETWORK_RULE: &str = "write a range as ADDRESS/PREFIX, such as 10.0.0.0/8 or 2001:db8::/32, or a single address";

fn bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u32::from(a) as u128, 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

/// The mask of the first `prefix` bits of a `width`-bit address.
fn mask(prefix: u8, width: u8) -> u128 {
    let all = if width == 32 { u32::MAX as u128 } else { u128::MAX };
    if prefix == 0 { 0 } else { all & !((1u128 << (width - prefix)) - 1) }
}

impl Network {
    /// Parse `ADDRESS/PREFIX` or a bare address; the error says what to
    /// write instead.
    pub fn parse(text: &str) -> Result<Network, String> {
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| {
            if addr_text.contains('%') {
                format!("{text:?}: zone indexes (%eth0) cannot be used; {NETWORK_RULE}")
            } else {
                format!("{text:?} is not an IP address or range: {NETWORK_RULE}")
            }
        })?;
        let width = bits(addr).1;
        let prefix = match prefix_text {
            None => width,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= width && !p.starts_with('+') && (p == "0" || !p.starts_with('0')) => n,
                _ => return Err(format!("{text:?}: the prefix of an IPv{} range is 0 to {width}", if width == 32 { 4 } else { 6 })),
            },
        };
        let (value, _) = bits(addr);
        let host = value & !mask(prefix, width);
        if host != 0 {
            let net = Network::from_bits(addr, value & mask(prefix, width), prefix);
            return Err(format!(
                "{text:?} has bits set past its first {prefix}: write {net} for the range, or {addr}/{width} for the one address"
            ));
        }
        Ok(Network { addr, prefix }.unmapped())
    }

    fn from_bits(like: IpAddr, value: u128, prefix: u8) -> Network {
        let addr = match like {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(value as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
        };
        Network { addr, prefix }
    }

    /// An IPv4-mapped IPv6 range of at least 96 bits as the IPv4 range it
    /// means; every other range as it is.
    fn unmapped(self) -> Network {
        match self.addr {
            IpAddr::V6(a) if self.prefix >= 96 => match a.to_ipv4_mapped() {
                Some(v4) => Network { addr: IpAddr::V4(v4), prefix: self.prefix - 96 },
                None => self,
            },
            _ => self,
        }
    }

    /// True if `ip` is in this range (an IPv4-mapped address counts as its
    /// IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let ((net, width), (value, ip_width)) = (bits(self.addr), bits(ip));
        width == ip_width && (value ^ net) & mask(self.prefix, width) == 0
    }

    /// The first address of the range.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// How many leading bits are fixed.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

/// The canonical text: `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7/32`.
impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Network, String> {
        Network::parse(s)
    }
}

impl serde::Serialize for Network {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Network, D::Error> {
        let text = String::deserialize(d)?;
        Network::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// True if `peer` may log in under `allowed` (empty: from anywhere). An
/// unknown address (`None`) is allowed only when nothing is restricted.
pub fn admits(allowed: &[Network], peer: Option<IpAddr>) -> bool {
    allowed.is_empty() || peer.is_some_and(|ip| allowed.iter().any(|n| n.contains(ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn canonical_text() {
        for (input, canonical) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("192.0.2.7", "192.0.2.7/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:DB8::/32", "2001:db8::/32"),
            ("2001:0db8:0000::/48", "2001:db8::/48"),
            ("::1", "::1/128"),
            ("::/0", "::/0"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("::ffff:192.0.2.7", "192.0.2.7/32"),
        ] {
            assert_eq!(Network::parse(input).map(|n| n.to_string()), Ok(canonical.to_owned()), "{input}");
        }
    }

    #[test]
    fn refusals_say_what_to_write() {
        assert_eq!(
            Network::parse("10.0.0.1/8").unwrap_err(),
            "\"10.0.0.1/8\" has bits set past its first 8: write 10.0.0.0/8 for the range, or 10.0.0.1/32 for the one address"
        );
        assert_eq!(
            Network::parse("2001:db8::1/32").unwrap_err(),
            "\"2001:db8::1/32\" has bits set past its first 32: write 2001:db8::/32 for the range, or 2001:db8::1/128 for the one address"
        );
        assert_eq!(Network::parse("10.0.0.0/33").unwrap_err(), "\"10.0.0.0/33\": the prefix of an IPv4 range is 0 to 32");
        assert_eq!(Network::parse("::/129").unwrap_err(), "\"::/129\": the prefix of an IPv6 range is 0 to 128");
        for bad in ["10.0.0.0/08", "10.0.0.0/+8", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8 "] {
            assert!(Network::parse(bad).unwrap_err().contains("the prefix of an IPv4 range is 0 to 32"), "{bad}");
        }
        for bad in ["10.0.0", "example.com", " 10.0.0.0/8", "", "010.0.0.1"] {
            assert_eq!(Network::parse(bad).unwrap_err(), format!("{bad:?} is not an IP address or range: {NETWORK_RULE}"), "{bad:?}");
        }
        assert!(Network::parse("fe80::1%eth0").unwrap_err().contains("zone indexes"));
    }

    #[test]
    fn membership_for_v4_v6_and_mapped_peers() {
        let lan = Network::parse("10.0.0.0/8").unwrap();
        assert!(lan.contains(ip("10.255.0.1")) && !lan.contains(ip("11.0.0.1")));
        assert!(lan.contains(ip("::ffff:10.1.2.3")), "an IPv4 client on a dual-stack socket");
        assert!(!lan.contains(ip("::a01:203")), "an IPv6 address is not an IPv4 one");
        let doc = Network::parse("2001:db8::/32").unwrap();
        assert!(doc.contains(ip("2001:db8:ffff::1")) && !doc.contains(ip("2001:db9::1")) && !doc.contains(ip("10.0.0.1")));
        let one = Network::parse("192.0.2.7").unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        assert!(Network::parse("::/0").unwrap().contains(ip("::1")));
        assert!(admits(&[], None), "no list: anywhere, even unknown");
        assert!(!admits(&[lan], None), "a list and an unknown address: refused");
        assert!(admits(&[doc, lan], Some(ip("10.0.0.9"))) && !admits(&[doc, lan], Some(ip("192.0.2.1"))));
    }
}
