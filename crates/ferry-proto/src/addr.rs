//! Data-connection address codecs.
//!
//! - `PORT`/`227` (RFC 959 §4.1.2): `h1,h2,h3,h4,p1,p2`, IPv4 only, the port
//!   split into high and low byte.
//! - `EPRT` (RFC 2428 §2): `|af|address|port|` with af 1 (IPv4) or 2 (IPv6);
//!   the delimiter is the first character and may be any printable ASCII
//!   character from 33 to 126.
//! - `229` (RFC 2428 §3): `(|||port|)`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

/// Normalise an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) to IPv4, so
/// that addresses from dual-stack sockets compare (and print) as people
/// expect: a data connection's peer against the control connection's.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Parse the argument of `PORT`.
pub fn parse_port(arg: &str) -> Option<SocketAddrV4> {
    let mut n = [0u8; 6];
    let mut parts = arg.trim().split(',');
    for slot in &mut n {
        *slot = parts.next()?.trim().parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(SocketAddrV4::new(Ipv4Addr::new(n[0], n[1], n[2], n[3]), u16::from_be_bytes([n[4], n[5]])))
}

/// Format an address as `h1,h2,h3,h4,p1,p2`.
pub fn format_port(sa: SocketAddrV4) -> String {
    let [a, b, c, d] = sa.ip().octets();
    let [p1, p2] = sa.port().to_be_bytes();
    format!("{a},{b},{c},{d},{p1},{p2}")
}

/// The text of a `227` reply for a passive listener.
pub fn format_pasv_reply(sa: SocketAddrV4) -> String {
    format!("Entering Passive Mode ({}).", format_port(sa))
}

/// Find the address in a `227` reply text. RFC 959 does not fix where it
/// stands, so look for the first run of six comma-separated numbers.
pub fn parse_pasv_reply(text: &str) -> Option<SocketAddrV4> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let end = text[i..].find(|c: char| !(c.is_ascii_digit() || c == ',' || c == ' ')).map_or(text.len(), |e| i + e);
            if let Some(sa) = parse_port(text[i..end].trim_end_matches(',')) {
                return Some(sa);
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// Parse the argument of `EPRT`.
pub fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let arg = arg.trim();
    let delim = arg.chars().next()?;
    if !('!'..='~').contains(&delim) {
        return None;
    }
    let fields: Vec<&str> = arg.split(delim).collect();
    // "" af addr port ""
    let [first, af, host, port, last] = fields.as_slice() else {
        return None;
    };
    if !first.is_empty() || !last.is_empty() {
        return None;
    }
    let ip: IpAddr = match *af {
        "1" => IpAddr::V4(host.parse().ok()?),
        "2" => IpAddr::V6(host.parse().ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port.parse().ok().filter(|p| *p != 0)?))
}

/// Format an address as `|af|address|port|`.
pub fn format_eprt(sa: SocketAddr) -> String {
    let af = if sa.is_ipv4() { 1 } else { 2 };
    format!("|{af}|{}|{}|", sa.ip(), sa.port())
}

/// The text of a `229` reply.
pub fn format_epsv_reply(port: u16) -> String {
    format!("Entering Extended Passive Mode (|||{port}|)")
}

/// Find the port in a `229` reply text: `(<d><d><d>port<d>)`.
pub fn parse_epsv_reply(text: &str) -> Option<u16> {
    let open = text.find('(')?;
    let inner = &text[open + 1..];
    let close = inner.find(')')?;
    let inner = &inner[..close];
    let d = inner.chars().next()?;
    let fields: Vec<&str> = inner.split(d).collect();
    match fields.as_slice() {
        ["", "", "", port, ""] => port.parse().ok().filter(|p| *p != 0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_round_trip() {
        let sa = parse_port("127,0,0,1,4,1").unwrap();
        assert_eq!(sa, "127.0.0.1:1025".parse().unwrap());
        assert_eq!(format_port(sa), "127,0,0,1,4,1");
        assert_eq!(parse_port("127,0,0,1,4"), None);
        assert_eq!(parse_port("127,0,0,1,4,1,1"), None);
        assert_eq!(parse_port("256,0,0,1,4,1"), None);
    }

    #[test]
    fn pasv_reply() {
        let sa = parse_pasv_reply("Entering Passive Mode (192,168,1,2,200,10).").unwrap();
        assert_eq!(sa, "192.168.1.2:51210".parse().unwrap());
        assert_eq!(parse_pasv_reply("=127,0,0,1,4,1"), Some("127.0.0.1:1025".parse().unwrap()));
        assert_eq!(parse_pasv_reply("Entering Passive Mode"), None);
    }

    #[test]
    fn eprt() {
        assert_eq!(parse_eprt("|1|132.235.1.2|6275|"), Some("132.235.1.2:6275".parse().unwrap()));
        assert_eq!(parse_eprt("|2|1080::8:800:200C:417A|5282|"), Some("[1080::8:800:200C:417A]:5282".parse().unwrap()));
        assert_eq!(parse_eprt("!1!10.0.0.1!80!"), Some("10.0.0.1:80".parse().unwrap()));
        assert_eq!(parse_eprt("|1|::1|5282|"), None);
        assert_eq!(parse_eprt("|3|1.2.3.4|5|"), None);
        let sa: SocketAddr = "[::1]:2121".parse().unwrap();
        assert_eq!(parse_eprt(&format_eprt(sa)), Some(sa));
    }

    #[test]
    fn epsv_reply() {
        assert_eq!(parse_epsv_reply(&format_epsv_reply(6446)), Some(6446));
        assert_eq!(parse_epsv_reply("229 ok (!!!6446!)"), Some(6446));
        assert_eq!(parse_epsv_reply("229 ok (|||x|)"), None);
    }
}
