//! The PROXY protocol (HAProxy, versions 1 and 2): the header a TCP load
//! balancer puts in front of a connection to say who the real client is.
//!
//! [`parse`] looks at the first bytes of a connection and says whether a
//! complete header is there, how long it is, and what it says; it never
//! needs more than [`MAX_HEADER`] bytes, so a server can peek them without
//! consuming what follows (a TLS hello, for implicit FTPS).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Longest header worth peeking at: v1 is at most 107 bytes; v2 is 16
/// bytes plus addresses (36 for IPv6) plus TLVs, which we allow up to this.
pub const MAX_HEADER: usize = 536;

const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// A proxied connection from `source` to `destination`.
    Proxied {
        /// The real client.
        source: SocketAddr,
        /// The address the client connected to.
        destination: SocketAddr,
    },
    /// The proxy's own connection (health check) or an unknown family:
    /// use the TCP peer.
    Local,
}

/// A malformed header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// Not a PROXY header at all.
    #[error("no PROXY protocol header")]
    Missing,
    /// A header that breaks the format.
    #[error("malformed PROXY header: {0}")]
    Malformed(&'static str),
}

/// Parse a header at the start of `buf`: `Ok(Some((header, length)))`,
/// `Ok(None)` when more bytes are needed, or an error.
pub fn parse(buf: &[u8]) -> Result<Option<(Header, usize)>, ProxyError> {
    if buf.len() >= 6 && buf.starts_with(b"PROXY ") {
        return parse_v1(buf);
    }
    if buf.len() >= 12 && buf[..12] == V2_SIGNATURE {
        return parse_v2(buf);
    }
    // A prefix of either signature may still become a header.
    let is_prefix = |sig: &[u8]| buf.len() < sig.len() && sig.starts_with(buf);
    if is_prefix(b"PROXY ") || is_prefix(&V2_SIGNATURE) {
        return Ok(None);
    }
    Err(ProxyError::Missing)
}

fn parse_v1(buf: &[u8]) -> Result<Option<(Header, usize)>, ProxyError> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() > 107 { Err(ProxyError::Malformed("v1 line too long")) } else { Ok(None) };
    };
    if end > 105 {
        return Err(ProxyError::Malformed("v1 line too long"));
    }
    let line = std::str::from_utf8(&buf[6..end]).map_err(|_| ProxyError::Malformed("v1 line is not ASCII"))?;
    let mut f = line.split(' ');
    let header = match f.next() {
        Some("UNKNOWN") => Header::Local,
        Some(proto @ ("TCP4" | "TCP6")) => {
            let bad = ProxyError::Malformed("v1 addresses");
            let (src, dst, sport, dport) =
                (f.next().ok_or(bad.clone())?, f.next().ok_or(bad.clone())?, f.next().ok_or(bad.clone())?, f.next().ok_or(bad.clone())?);
            if f.next().is_some() {
                return Err(bad);
            }
            let (src, dst): (IpAddr, IpAddr) = (src.parse().map_err(|_| bad.clone())?, dst.parse().map_err(|_| bad.clone())?);
            if src.is_ipv4() != (proto == "TCP4") || dst.is_ipv4() != (proto == "TCP4") {
                return Err(bad);
            }
            let (sport, dport): (u16, u16) = (sport.parse().map_err(|_| bad.clone())?, dport.parse().map_err(|_| bad)?);
            Header::Proxied { source: SocketAddr::new(src, sport), destination: SocketAddr::new(dst, dport) }
        }
        _ => return Err(ProxyError::Malformed("v1 protocol")),
    };
    Ok(Some((header, end + 2)))
}

fn parse_v2(buf: &[u8]) -> Result<Option<(Header, usize)>, ProxyError> {
    if buf.len() < 16 {
        return Ok(None);
    }
    let (ver_cmd, family) = (buf[12], buf[13]);
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::Malformed("v2 version"));
    }
    let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
    if 16 + len > MAX_HEADER {
        return Err(ProxyError::Malformed("v2 header too long"));
    }
    if buf.len() < 16 + len {
        return Ok(None);
    }
    let body = &buf[16..16 + len];
    let header = match (ver_cmd & 0x0F, family) {
        (0x0, _) => Header::Local,
        (0x1, 0x11) if body.len() >= 12 => {
            let ip = |o: usize| IpAddr::V4(Ipv4Addr::new(body[o], body[o + 1], body[o + 2], body[o + 3]));
            let port = |o: usize| u16::from_be_bytes([body[o], body[o + 1]]);
            Header::Proxied { source: SocketAddr::new(ip(0), port(8)), destination: SocketAddr::new(ip(4), port(10)) }
        }
        (0x1, 0x21) if body.len() >= 36 => {
            let ip = |o: usize| IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&body[o..o + 16]).expect("16 bytes")));
            let port = |o: usize| u16::from_be_bytes([body[o], body[o + 1]]);
            Header::Proxied { source: SocketAddr::new(ip(0), port(32)), destination: SocketAddr::new(ip(16), port(34)) }
        }
        (0x1, _) => Header::Local,
        _ => return Err(ProxyError::Malformed("v2 command")),
    };
    Ok(Some((header, 16 + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1() {
        let (h, n) = parse(b"PROXY TCP4 203.0.113.9 10.0.0.1 5555 21\r\nrest").unwrap().unwrap();
        assert_eq!(n, 41);
        assert_eq!(h, Header::Proxied { source: "203.0.113.9:5555".parse().unwrap(), destination: "10.0.0.1:21".parse().unwrap() });
        let (h, _) = parse(b"PROXY TCP6 2001:db8::1 ::1 40000 990\r\n").unwrap().unwrap();
        assert!(matches!(h, Header::Proxied { source, .. } if source.to_string() == "[2001:db8::1]:40000"));
        assert_eq!(parse(b"PROXY UNKNOWN\r\n").unwrap().unwrap().0, Header::Local);
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4"), Ok(None));
        assert_eq!(parse(b"PRO"), Ok(None));
        assert!(parse(b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n").is_err());
        assert!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n").is_err());
        assert_eq!(parse(b"USER anna\r\n"), Err(ProxyError::Missing));
    }

    #[test]
    fn v2() {
        let mut b = V2_SIGNATURE.to_vec();
        b.extend_from_slice(&[0x21, 0x11, 0, 12, 203, 0, 113, 9, 10, 0, 0, 1, 0x15, 0xB3, 0, 21]);
        b.extend_from_slice(b"TLS hello follows");
        let (h, n) = parse(&b).unwrap().unwrap();
        assert_eq!(n, 28);
        assert_eq!(h, Header::Proxied { source: "203.0.113.9:5555".parse().unwrap(), destination: "10.0.0.1:21".parse().unwrap() });
        assert_eq!(parse(&b[..20]), Ok(None));
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(parse(&local).unwrap().unwrap(), (Header::Local, 16));
        let mut bad = V2_SIGNATURE.to_vec();
        bad.extend_from_slice(&[0x31, 0x11, 0, 0]);
        assert!(parse(&bad).is_err());
    }
}
