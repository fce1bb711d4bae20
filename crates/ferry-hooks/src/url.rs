//! The little of a URL a webhook needs: `http` or `https`, a host, a port
//! and the path with its query. Enough to open a connection and write a
//! request line, without a URL crate; anything fancier (user info,
//! fragments) is refused rather than half-understood.

/// A webhook's address, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebhookUrl {
    /// `https://` (TLS, verified against the web's root certificates).
    pub(crate) tls: bool,
    /// The host name or address, without brackets for IPv6.
    pub(crate) host: String,
    /// The port (80 or 443 when not given).
    pub(crate) port: u16,
    /// The path and query, starting with `/`.
    pub(crate) path: String,
}

impl WebhookUrl {
    /// Parse `http://host[:port][/path][?query]` or `https://...`.
    pub(crate) fn parse(url: &str) -> Result<WebhookUrl, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("{url:?} is not an http:// or https:// URL"));
        };
        if rest.contains('#') {
            return Err(format!("{url:?}: a webhook URL has no #fragment"));
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.contains('@') {
            return Err(format!("{url:?}: user info in the URL is not supported (sign with `secret` instead)"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6.find(']').ok_or_else(|| format!("{url:?}: an IPv6 address lacks its `]`"))?;
            (&v6[..close], v6[close + 1..].strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(format!("{url:?} has no host"));
        }
        let port = match port {
            None => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some(p) => p.parse().map_err(|_| format!("{url:?}: {p:?} is not a port"))?,
        };
        if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(format!("{url:?}: the path has spaces or control characters (percent-encode them)"));
        }
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        Ok(WebhookUrl { tls, host: host.to_string(), port, path })
    }

    /// The `Host` header's value.
    pub(crate) fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == default { host } else { format!("{host}:{}", self.port) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let u = WebhookUrl::parse("https://ingest.example.net/ferry?q=1").unwrap();
        assert_eq!(u, WebhookUrl { tls: true, host: "ingest.example.net".into(), port: 443, path: "/ferry?q=1".into() });
        assert_eq!(u.host_header(), "ingest.example.net");
        let u = WebhookUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((u.tls, u.port, u.path.as_str(), u.host_header().as_str()), (false, 8080, "/", "127.0.0.1:8080"));
        let u = WebhookUrl::parse("http://[::1]:9000/h").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.host_header().as_str()), ("::1", 9000, "[::1]:9000"));
        let u = WebhookUrl::parse("http://h?x").unwrap();
        assert_eq!(u.path, "/?x");
    }

    #[test]
    fn refusals() {
        for (url, why) in [
            ("ftp://x/", "not an http"),
            ("http:///p", "no host"),
            ("http://u:p@h/", "user info"),
            ("http://h:99999/", "not a port"),
            ("http://h/a b", "spaces"),
            ("http://h/#f", "fragment"),
        ] {
            let e = WebhookUrl::parse(url).unwrap_err();
            assert!(e.contains(why), "{url}: {e}");
        }
    }
}
