//! Where to connect: `ftp://user:pass@host:port/path` URLs and `~/.netrc`.

use crate::tls::TlsMode;

/// The URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `ftp://`: plain FTP.
    Ftp,
    /// `ftpes://`: explicit FTPS (`AUTH TLS`).
    Ftpes,
    /// `ftps://`: implicit FTPS.
    Ftps,
    /// `sftp://`: SFTP over SSH.
    Sftp,
}

impl Scheme {
    /// The TLS a URL of this scheme asks for: `ftpes://` explicit FTPS,
    /// `ftps://` implicit; `ftp://` keeps what `asked` (`--tls`) says.
    pub fn tls_mode(self, asked: TlsMode) -> TlsMode {
        match self {
            Scheme::Ftp | Scheme::Sftp => asked,
            Scheme::Ftpes => TlsMode::Explicit,
            Scheme::Ftps => TlsMode::Implicit,
        }
    }
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

/// Why a URL could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No `scheme://`.
    #[error("{0:?} is not a URL")]
    NotUrl(String),
    /// A scheme other than `ftp`, `ftpes`, `ftps`.
    #[error("unsupported scheme {0:?}: use ftp://, ftps://, ftpes:// or sftp://")]
    Scheme(String),
    /// A `%` not followed by two hex digits.
    #[error("bad %-escape in {0:?}")]
    Escape(String),
    /// Percent-decoding gave bytes that are not UTF-8.
    #[error("{0:?} is not UTF-8 once decoded")]
    NotUtf8(String),
    /// `[` without `]` around an IPv6 address.
    #[error("unclosed [ in IPv6 address")]
    Bracket,
    /// A port that is not a number from 0 to 65535.
    #[error("bad port {0:?}")]
    Port(String),
    /// Nothing between `://` and the port or path.
    #[error("no host in {0:?}")]
    NoHost(String),
}

fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(|| UrlError::Escape(s.to_owned()))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| UrlError::Escape(s.to_owned()))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::NotUtf8(s.to_owned()))
}

/// True if the text looks like a URL rather than a host name.
pub fn is_url(s: &str) -> bool {
    s.contains("://")
}

/// Parse `ftp://[user[:pass]@]host[:port][/path]`.
pub fn parse_url(url: &str) -> Result<Target, UrlError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| UrlError::NotUrl(url.to_owned()))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "ftp" => Scheme::Ftp,
        "ftpes" => Scheme::Ftpes,
        "ftps" => Scheme::Ftps,
        "sftp" => Scheme::Sftp,
        other => return Err(UrlError::Scheme(other.to_owned())),
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
    let default_port = match scheme {
        Scheme::Ftps => 990,
        Scheme::Sftp => 22,
        Scheme::Ftp | Scheme::Ftpes => 21,
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or(UrlError::Bracket)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| UrlError::Port(p.to_owned()))?,
            None => default_port,
        };
        (h.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| UrlError::Port(p.to_owned()))?),
            None => (hostport.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return Err(UrlError::NoHost(url.to_owned()));
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
        let t = parse_url("sftp://ann@h/srv/in/x.csv").unwrap();
        assert_eq!((t.scheme, t.port, t.user.as_deref(), t.path.as_deref()), (Scheme::Sftp, 22, Some("ann"), Some("srv/in/x.csv")));
        assert_eq!(parse_url("ftps://h").unwrap().scheme.tls_mode(TlsMode::Off), TlsMode::Implicit);
        assert_eq!(parse_url("FTPES://h").unwrap().scheme.tls_mode(TlsMode::Off), TlsMode::Explicit);
        assert_eq!(parse_url("ftp://h").unwrap().scheme.tls_mode(TlsMode::Explicit), TlsMode::Explicit);
        assert_eq!(parse_url("http://h"), Err(UrlError::Scheme("http".into())));
        assert_eq!(parse_url("http://h").unwrap_err().to_string(), "unsupported scheme \"http\": use ftp://, ftps://, ftpes:// or sftp://");
        assert_eq!(parse_url("ftp://:21"), Err(UrlError::NoHost("ftp://:21".into())));
        assert_eq!(parse_url("ftp://h:99999"), Err(UrlError::Port("99999".into())));
        assert_eq!(parse_url("ftp://[::1"), Err(UrlError::Bracket));
        assert_eq!(parse_url("ftp://u%zz@h"), Err(UrlError::Escape("u%zz".into())));
        assert_eq!(parse_url("not a url").unwrap_err().to_string(), "\"not a url\" is not a URL");
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
