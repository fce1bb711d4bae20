//! Where to connect: `ftp://user:pass@host:port/path` URLs and `~/.netrc`.

/// The URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `ftp://`: plain FTP.
    Ftp,
    /// `ftpes://`: explicit FTPS (`AUTH TLS`), for the FTPS issue.
    Ftpes,
    /// `ftps://`: implicit FTPS, for the FTPS issue.
    Ftps,
}

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Scheme.
    pub scheme: Scheme,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (21 when not given; 990 for `ftps://`).
    pub port: u16,
    /// User from the URL.
    pub user: Option<String>,
    /// Password from the URL.
    pub password: Option<String>,
    /// Path after the host, percent-decoded, without the leading `/`.
    pub path: Option<String>,
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(|| format!("bad %-escape in {s:?}"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad %-escape in {s:?}"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} is not UTF-8 once decoded"))
}

/// True if the text looks like a URL rather than a host name.
pub fn is_url(s: &str) -> bool {
    s.contains("://")
}

/// Parse `ftp://[user[:pass]@]host[:port][/path]`.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("{url:?} is not a URL"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "ftp" => Scheme::Ftp,
        "ftpes" => Scheme::Ftpes,
        "ftps" => Scheme::Ftps,
        other => return Err(format!("unsupported scheme {other:?}: use ftp://")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(ui) => match ui.split_once(':') {
            Some((u, p)) => (Some(percent_decode(u)?), Some(percent_decode(p)?)),
            None => (Some(percent_decode(ui)?), None),
        },
        None => (None, None),
    };
    let default_port = if scheme == Scheme::Ftps { 990 } else { 21 };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("unclosed [ in IPv6 address")?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("bad port {p:?}"))?,
            None => default_port,
        };
        (h.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| format!("bad port {p:?}"))?),
            None => (hostport.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    let path = path.filter(|p| !p.is_empty()).map(percent_decode).transpose()?;
    Ok(Target { scheme, host, port, user, password, path })
}

/// Look `host` up in `.netrc` text: `(login, password)` from its `machine`
/// entry, else from `default`.
pub fn netrc_lookup(text: &str, host: &str) -> Option<(String, Option<String>)> {
    let mut tokens = text.split_whitespace();
    let mut found: Option<(Option<String>, Option<String>)> = None;
    let mut default: Option<(Option<String>, Option<String>)> = None;
    // Which entry the following login/password belong to.
    enum Cur {
        None,
        Match,
        Default,
        Other,
    }
    let mut cur = Cur::None;
    while let Some(tok) = tokens.next() {
        match tok {
            "machine" => {
                let m = tokens.next()?;
                cur = if m.eq_ignore_ascii_case(host) && found.is_none() {
                    found = Some((None, None));
                    Cur::Match
                } else {
                    Cur::Other
                };
            }
            "default" => {
                default = Some((None, None));
                cur = Cur::Default;
            }
            "login" | "password" | "account" => {
                let v = tokens.next()?.to_owned();
                let slot = match cur {
                    Cur::Match => found.as_mut(),
                    Cur::Default => default.as_mut(),
                    _ => None,
                };
                if let Some((login, password)) = slot {
                    match tok {
                        "login" => *login = Some(v),
                        "password" => *password = Some(v),
                        _ => {}
                    }
                }
            }
            "macdef" => {
                // A macro body runs to the next blank line; whitespace
                // tokenising cannot see that, so stop reading here.
                cur = Cur::Other;
                let _ = tokens.next();
            }
            _ => {}
        }
    }
    let (login, password) = found.or(default)?;
    Some((login?, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("ftp://anna:p%40ss@example.com:2121/dir/a%20b.txt").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("example.com", 2121));
        assert_eq!((t.user.as_deref(), t.password.as_deref()), (Some("anna"), Some("p@ss")));
        assert_eq!(t.path.as_deref(), Some("dir/a b.txt"));
        let t = parse_url("ftp://[::1]/").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path), ("::1", 21, None));
        assert_eq!(parse_url("ftps://h").unwrap().port, 990);
        assert!(parse_url("http://h").is_err());
        assert!(parse_url("ftp://:21").is_err());
    }

    #[test]
    fn netrc() {
        let text = "machine other login o password op\nmachine example.com\n  login anna\n  password secret\ndefault login anonymous password me@\n";
        assert_eq!(netrc_lookup(text, "example.com"), Some(("anna".into(), Some("secret".into()))));
        assert_eq!(netrc_lookup(text, "EXAMPLE.com"), Some(("anna".into(), Some("secret".into()))));
        assert_eq!(netrc_lookup(text, "unknown"), Some(("anonymous".into(), Some("me@".into()))));
        assert_eq!(netrc_lookup("machine x login y", "z"), None);
    }
}
