//! Reaching the server through a proxy (`--proxy URL`), for the control
//! connection and every passive data connection:
//!
//! - `socks5://host:port`: SOCKS5 (RFC 1928), the server's name resolved
//!   here and its address sent;
//! - `socks5h://host:port`: the same, the name sent for the proxy to
//!   resolve (what a proxy in front of a private network needs);
//! - `http://host:port`: an HTTP `CONNECT` tunnel (RFC 9110 §9.3.6).
//!
//! `user:password@` in the URL logs in to the proxy (RFC 1929 for SOCKS5,
//! `Proxy-Authorization: Basic` for HTTP). Active mode cannot work through
//! a proxy (the server would have to reach us), so it is refused.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Which kind of proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// SOCKS5, names resolved by the client.
    Socks5,
    /// SOCKS5, names resolved by the proxy.
    Socks5h,
    /// HTTP `CONNECT`.
    Http,
}

/// A proxy to connect through.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The protocol.
    pub kind: ProxyKind,
    /// The proxy's host.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// A login for the proxy.
    pub auth: Option<(String, String)>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the proxy's password.
        write!(f, "Proxy({:?} {}:{}{})", self.kind, self.host, self.port, if self.auth.is_some() { " with a login" } else { "" })
    }
}

/// `url` with any `user:password@` hidden, for messages.
pub fn masked(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***@{}", &url[at + 1..]),
        (None, Some(at)) => format!("***@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

impl std::str::FromStr for Proxy {
    type Err = String;

    /// `socks5://[user:pass@]host[:port]`, `socks5h://…`, `http://…`
    /// (ports 1080 and 8080 by default).
    fn from_str(url: &str) -> Result<Proxy, String> {
        let (scheme, rest) =
            url.split_once("://").ok_or_else(|| format!("{:?}: give a proxy URL such as socks5://127.0.0.1:1080", masked(url)))?;
        let (kind, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "socks5" => (ProxyKind::Socks5, 1080),
            "socks5h" => (ProxyKind::Socks5h, 1080),
            "http" => (ProxyKind::Http, 8080),
            other => return Err(format!("{other}://: proxies are socks5://, socks5h:// or http://")),
        };
        let rest = rest.trim_end_matches('/');
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((a, h)) => {
                let (u, p) = a.split_once(':').unwrap_or((a, ""));
                (Some((u.to_owned(), p.to_owned())), h)
            }
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h.trim_matches(|c| c == '[' || c == ']'), p.parse().map_err(|_| format!("bad proxy port {p:?}"))?)
            }
            _ => (hostport.trim_matches(|c| c == '[' || c == ']'), default_port),
        };
        if host.is_empty() {
            return Err(format!("{:?}: the proxy URL names no host", masked(url)));
        }
        Ok(Proxy { kind, host: host.to_owned(), port, auth })
    }
}

fn refused(why: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionRefused, why.into())
}

/// A TCP connection to `host:port` through `proxy`, within `timeout`.
pub(crate) async fn connect(proxy: &Proxy, host: &str, port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    let work = async {
        let mut s = TcpStream::connect((proxy.host.as_str(), proxy.port)).await?;
        s.set_nodelay(true)?;
        match proxy.kind {
            ProxyKind::Socks5 | ProxyKind::Socks5h => socks5(&mut s, proxy, host, port).await?,
            ProxyKind::Http => http_connect(&mut s, proxy, host, port).await?,
        }
        Ok(s)
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the proxy did not answer"))?
}

async fn socks5(s: &mut TcpStream, proxy: &Proxy, host: &str, port: u16) -> std::io::Result<()> {
    let methods: &[u8] = if proxy.auth.is_some() { &[5, 2, 0, 2] } else { &[5, 1, 0] };
    s.write_all(methods).await?;
    let mut reply = [0u8; 2];
    s.read_exact(&mut reply).await?;
    match reply {
        [5, 0] => {}
        [5, 2] => {
            let (user, pass) = proxy.auth.clone().unwrap_or_default();
            if user.len() > 255 || pass.len() > 255 {
                return Err(refused("the proxy login is too long for SOCKS5"));
            }
            let mut msg = vec![1, user.len() as u8];
            msg.extend_from_slice(user.as_bytes());
            msg.push(pass.len() as u8);
            msg.extend_from_slice(pass.as_bytes());
            s.write_all(&msg).await?;
            s.read_exact(&mut reply).await?;
            if reply[1] != 0 {
                return Err(refused("the SOCKS5 proxy refused the login"));
            }
        }
        [5, 0xff] => return Err(refused("the SOCKS5 proxy accepts none of our ways to log in (give user:password@ in --proxy)")),
        _ => return Err(refused("not a SOCKS5 proxy")),
    }
    let mut req = vec![5, 1, 0];
    let target = match proxy.kind {
        ProxyKind::Socks5h => None,
        _ => Some(resolve(host, port).await?),
    };
    match target {
        Some(SocketAddr::V4(a)) => {
            req.push(1);
            req.extend_from_slice(&a.ip().octets());
        }
        Some(SocketAddr::V6(a)) => {
            req.push(4);
            req.extend_from_slice(&a.ip().octets());
        }
        None => {
            if host.len() > 255 {
                return Err(refused("the host name is too long for SOCKS5"));
            }
            req.push(3);
            req.push(host.len() as u8);
            req.extend_from_slice(host.as_bytes());
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req).await?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    if head[0] != 5 {
        return Err(refused("not a SOCKS5 proxy"));
    }
    if head[1] != 0 {
        let why = match head[1] {
            2 => "not allowed by its rules",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            _ => "failure",
        };
        return Err(refused(format!("the SOCKS5 proxy could not reach {host}:{port}: {why}")));
    }
    // The address it bound: skip it.
    let skip = match head[3] {
        1 => 4,
        4 => 16,
        3 => {
            let mut n = [0u8; 1];
            s.read_exact(&mut n).await?;
            n[0] as usize
        }
        _ => return Err(refused("a malformed SOCKS5 reply")),
    };
    let mut rest = vec![0u8; skip + 2];
    s.read_exact(&mut rest).await?;
    Ok(())
}

async fn resolve(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host}: no address")))
}

async fn http_connect(s: &mut TcpStream, proxy: &Proxy, host: &str, port: u16) -> std::io::Result<()> {
    let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((u, p)) = &proxy.auth {
        req.push_str(&format!("Proxy-Authorization: Basic {}\r\n", base64(format!("{u}:{p}").as_bytes())));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await?;
    // Read the head byte by byte: what follows it is the server's.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || s.read(&mut b).await? == 0 {
            return Err(refused("the HTTP proxy closed the connection or sent too much"));
        }
        head.push(b[0]);
    }
    let status = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
    match status.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        _ => Err(refused(format!("the HTTP proxy refused CONNECT {target}: {status}"))),
    }
}

/// Standard base64, for `Proxy-Authorization`.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls() {
        let p: Proxy = "socks5h://u:p@127.0.0.1:9050".parse().unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port, p.auth.clone()),
            (ProxyKind::Socks5h, "127.0.0.1", 9050, Some(("u".into(), "p".into())))
        );
        let p: Proxy = "http://[::1]:3128/".parse().unwrap();
        assert_eq!((p.kind, p.host.as_str(), p.port), (ProxyKind::Http, "::1", 3128));
        assert_eq!("socks5://proxy".parse::<Proxy>().unwrap().port, 1080);
        assert!("ftp://x:1".parse::<Proxy>().is_err());
        assert!(!format!("{:?}", "socks5://u:secret@h:1".parse::<Proxy>().unwrap()).contains("secret"));
        let e = "socks5:/u:secret@h".parse::<Proxy>().unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        assert_eq!(masked("http://u:p@h:1"), "http://***@h:1");
    }

    #[test]
    fn base64_as_in_rfc_4648() {
        assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
